"""Fares: an unlock fee, free minutes, a rate per started interval, a daily cap.

A rental keeps a copy of the tariff it started with, so a price change never
touches a trip already under way.
"""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.credit import HIGHEST_SCORE, LOWEST_SCORE
from rental.domain.money import format_amount

DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Tariff:
    currency: str
    unlock_fee_minor: int
    rate_per_interval_minor: int
    interval_seconds: int
    free_seconds: int = 0
    # The time charge of each started 24 hours never exceeds this.
    daily_cap_minor: int | None = None
    # Reserving a vehicle before unlocking it, per started minute of the reservation.
    reservation_per_minute_minor: int = 0
    # Added when a trip ends outside the service area or in a no-parking zone.
    out_of_zone_fee_minor: int = 0
    # An item never returned: its rental ends, costing this, once its fare reaches it.
    replacement_price_minor: int | None = None

    def __post_init__(self) -> None:
        if not 60 <= self.interval_seconds <= DAY_SECONDS:
            raise ValueError("interval_seconds must be between a minute and a day")
        if self.unlock_fee_minor < 0 or self.rate_per_interval_minor < 0:
            raise ValueError("prices cannot be negative")
        if not 0 <= self.free_seconds <= DAY_SECONDS:
            raise ValueError("free_seconds must be between 0 and a day")
        if self.daily_cap_minor is not None and self.daily_cap_minor < 0:
            raise ValueError("daily_cap_minor cannot be negative")
        if self.reservation_per_minute_minor < 0 or self.out_of_zone_fee_minor < 0:
            raise ValueError("fees cannot be negative")
        if self.replacement_price_minor is not None and self.replacement_price_minor <= 0:
            raise ValueError("replacement_price_minor must be positive")


@dataclass(frozen=True)
class PricingPlan:
    """The price of one asset kind in one city; a new version retires the previous one."""

    id: UUID
    city_id: str
    kind: str
    tariff: Tariff
    deposit_minor: int = 0
    deposit_waiver_score: int | None = None  # None: the deposit is never waived


# What an operator may set in a plan: (lowest, highest) of each number.
PRICE_LIMITS = {
    "unlock_fee_minor": (0, 100_000),
    "rate_per_interval_minor": (0, 100_000),
    "interval_seconds": (60, DAY_SECONDS),
    "free_seconds": (0, DAY_SECONDS),
    "daily_cap_minor": (0, 1_000_000),
    "reservation_per_minute_minor": (0, 10_000),
    "out_of_zone_fee_minor": (0, 100_000),
    "replacement_price_minor": (1, 10_000_000),
    "deposit_minor": (0, 1_000_000),
    "deposit_waiver_score": (LOWEST_SCORE, HIGHEST_SCORE),
}
# What a plan that leaves a number out gets.
PRICE_DEFAULTS = {
    "unlock_fee_minor": 0,
    "free_seconds": 0,
    "reservation_per_minute_minor": 0,
    "out_of_zone_fee_minor": 0,
    "deposit_minor": 0,
}


def started_intervals(seconds: int, interval_seconds: int) -> int:
    return -(-seconds // interval_seconds)


@dataclass(frozen=True)
class FareBreakdown:
    """A fare worked out once: fare_for() is its total and fare_lines() its receipt, so the
    two can never disagree."""

    within_free_time: bool
    unlock_fee_minor: int
    intervals: int  # started intervals of the billable time, each counted once
    riding_minor: int  # intervals x rate, before any cap
    # The time charge of each started 24 hours of billable time, after the daily cap.
    day_charges_minor: tuple[int, ...]

    @property
    def cap_discount_minor(self) -> int:
        """What the daily cap took off the riding charge: zero or negative."""
        return sum(self.day_charges_minor) - self.riding_minor

    @property
    def total_minor(self) -> int:
        return self.unlock_fee_minor + sum(self.day_charges_minor)


def fare_breakdown(duration_seconds: int, tariff: Tariff) -> FareBreakdown:
    """A trip within the free minutes costs nothing; any other pays the unlock fee and at
    least one interval. Intervals are counted over the whole billable time, so an interval
    that straddles the end of a 24-hour day is paid once, not again in the next day."""
    if duration_seconds < 0:
        raise ValueError("duration cannot be negative")
    if tariff.free_seconds and duration_seconds <= tariff.free_seconds:
        return FareBreakdown(True, 0, 0, 0, ())
    billable = max(1, duration_seconds - tariff.free_seconds)
    intervals = started_intervals(billable, tariff.interval_seconds)
    return FareBreakdown(
        within_free_time=False,
        unlock_fee_minor=tariff.unlock_fee_minor,
        intervals=intervals,
        riding_minor=intervals * tariff.rate_per_interval_minor,
        day_charges_minor=_day_charges(intervals, tariff),
    )


def _day_charges(intervals: int, tariff: Tariff) -> tuple[int, ...]:
    """Each interval belongs to the 24 hours of billable time in which it starts, and each
    such day is capped on its own. One step per day, so an item kept for weeks is cheap."""
    interval, cap = tariff.interval_seconds, tariff.daily_cap_minor
    last_day = (intervals - 1) * interval // DAY_SECONDS
    charges = []
    for day in range(last_day + 1):
        # Interval n starts at n x interval: day d holds those from ceil(d x 24 h / interval).
        first = started_intervals(day * DAY_SECONDS, interval)
        end = min(intervals, started_intervals((day + 1) * DAY_SECONDS, interval))
        charge = (end - first) * tariff.rate_per_interval_minor
        charges.append(charge if cap is None else min(charge, cap))
    return tuple(charges)


def fare_for(duration_seconds: int, tariff: Tariff) -> int:
    """What a trip of this length costs (see fare_breakdown for the rules)."""
    return fare_breakdown(duration_seconds, tariff).total_minor


def describe(tariff: Tariff) -> str:
    """What the rider reads before unlocking, e.g. '1.50 CNY per 30 min'."""
    parts = []
    if tariff.unlock_fee_minor:
        parts.append(f"{format_amount(tariff.unlock_fee_minor, tariff.currency)} to unlock")
    per = _duration(tariff.interval_seconds)
    parts.append(f"{format_amount(tariff.rate_per_interval_minor, tariff.currency)} per {per}")
    if tariff.free_seconds:
        parts.append(f"first {_duration(tariff.free_seconds)} free")
    if tariff.daily_cap_minor is not None:
        parts.append(f"at most {format_amount(tariff.daily_cap_minor, tariff.currency)} a day")
    return ", ".join(parts)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} h"
    return f"{seconds // 60} min"


@dataclass(frozen=True)
class FareLine:
    """One line of a receipt. `kind` and `count` let an app say it in the rider's language:
    free, unlock, riding (`count` intervals), daily_cap, parking_fee."""

    kind: str
    label: str
    amount_minor: int
    count: int = 1


def fare_lines(duration_seconds: int, tariff: Tariff) -> list[FareLine]:
    """The fare itemised for a receipt; the amounts always add up to fare_for()."""
    fare = fare_breakdown(duration_seconds, tariff)
    if fare.within_free_time:
        return [FareLine("free", f"Within the first {_duration(tariff.free_seconds)} (free)", 0)]
    lines = []
    if fare.unlock_fee_minor:
        lines.append(FareLine("unlock", "Unlock", fare.unlock_fee_minor))
    label = f"Riding: {fare.intervals} x {_duration(tariff.interval_seconds)}"
    if tariff.free_seconds:
        label += f" after {_duration(tariff.free_seconds)} free"
    lines.append(FareLine("riding", label, fare.riding_minor, fare.intervals))
    if fare.cap_discount_minor < 0:  # only when the cap really lowered the charge
        lines.append(FareLine("daily_cap", "Daily cap", fare.cap_discount_minor))
    return lines
