"""The rider funnel: how many of the app's visits reached each step from opening the map
to the end of a ride, and why visits stopped short.

A visit is one opening of the rider app, named by a random id the app makes (never the
rider's): the funnel counts visits, and keeps no rider identity or position. Three steps
are reported by the app itself (`APP_STEPS`); the others are recorded where they happen
on the platform (the scan, the lock's confirmation, the ride's end), joined to the app's
visit when the scan named it. A drop-out is a mark on the step a visit did not reach,
with the reason: the refusal's error code (`deposit_required`, `debt_outstanding`, ...),
the unlock's failure (`lock_offline`, `timeout`, ...), or `nothing_nearby`; the unlock
screen's verdict (the asset cannot be taken, a deposit is due) is a drop-out before the
scan, in the scan's words.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo


class Step(StrEnum):
    """The steps in the order riders go through them."""

    MAP_OPENED = "map_opened"  # the app's map screen opened
    VEHICLE_VIEWED = "vehicle_viewed"  # a vehicle's sheet opened on the map
    PRICE_SEEN = "price_seen"  # the unlock screen showed the vehicle's price
    SCAN = "scan"  # the rider asked for an unlock (the scan)
    UNLOCKED = "unlocked"  # the lock confirmed it opened
    RIDE_ENDED = "ride_ended"  # the ride ended


STEPS: tuple[Step, ...] = tuple(Step)
# What the app reports itself; the platform records the other steps where they happen.
APP_STEPS = frozenset({Step.MAP_OPENED, Step.VEHICLE_VIEWED, Step.PRICE_SEEN})
# A nearby search that found no vehicle: the map opened, but there was nothing to view.
NOTHING_NEARBY = "nothing_nearby"
REACHED = ""  # the reason of a mark that says the step was reached
# Why the unlock screen told a rider the asset cannot be taken (rental.domain.fleet's
# UnavailableReason, or no_price), as the scan names the same refusal: one word per reason.
SCAN_CODE_OF_UNAVAILABLE = {
    "out_of_service": "asset_out_of_service",
    "damaged": "asset_out_of_service",
    "low_battery": "battery_low",
    "offline": "lock_offline",
    "in_use": "asset_in_use",
    "reserved": "asset_reserved",
    "latch_open": "latch_open",
    "latch_unknown": "latch_unknown",
    "no_price": "no_pricing_plan",
}
DEPOSIT_REQUIRED = "deposit_required"


@dataclass(frozen=True)
class FunnelMark:
    """One visit at one step on one of its city's days: reached (`reason` empty) or
    not reached, and why. `visit_id` is None for a scan the app did not name;
    `rental_id` ties the later steps of a scan to it."""

    city_id: str
    day: date  # the city's calendar day
    step: Step
    reason: str = REACHED
    visit_id: UUID | None = None
    rental_id: UUID | None = None


def quote_drop_out(unavailable: Sequence[str], deposit_due_minor: int) -> str | None:
    """Why the unlock screen stops a rider before the scan, as the scan's code: the first
    reason the asset cannot be taken (the one the app shows), else a deposit still due;
    None when the rider may scan."""
    if unavailable:
        return SCAN_CODE_OF_UNAVAILABLE.get(unavailable[0], unavailable[0])
    return DEPOSIT_REQUIRED if deposit_due_minor > 0 else None


def local_day(at: datetime, time_zone: str) -> date:
    """The calendar day `at` falls on in the IANA `time_zone`."""
    return at.astimezone(ZoneInfo(time_zone)).date()


@dataclass(frozen=True)
class StepCount:
    """How many visits have a mark of `step` with `reason` (REACHED: reached it)."""

    step: Step
    reason: str
    visits: int


@dataclass(frozen=True)
class DropOut:
    reason: str
    visits: int  # visits that met it (a visit may meet a refusal and still go on)


@dataclass(frozen=True)
class StepFigures:
    step: Step
    visits: int  # visits that reached the step
    # visits / the previous step's; None for the first step or after a step of none.
    # Above 1 where the platform saw more than the app reported (a scan from another client).
    conversion: float | None
    drop_outs: list[DropOut]  # why visits did not reach this step, most first


def funnel_steps(counts: Iterable[StepCount]) -> list[StepFigures]:
    """Every step in order, with its visits, its conversion from the step before, and its
    drop-outs, from the stored counts (a step with none counts 0)."""
    reached: dict[Step, int] = dict.fromkeys(STEPS, 0)
    dropped: dict[Step, dict[str, int]] = {step: {} for step in STEPS}
    for count in counts:
        if count.reason == REACHED:
            reached[count.step] += count.visits
        else:
            reasons = dropped[count.step]
            reasons[count.reason] = reasons.get(count.reason, 0) + count.visits
    figures = []
    previous: int | None = None
    for step in STEPS:
        conversion = reached[step] / previous if previous else None
        drop_outs = [
            DropOut(reason, visits)
            for reason, visits in sorted(dropped[step].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        figures.append(StepFigures(step, reached[step], conversion, drop_outs))
        previous = reached[step]
    return figures
