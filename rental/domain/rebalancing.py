"""The nightly rebalancing as the platform keeps it: a city's trucks, each plan a run of the
job makes (queued for a planning worker, running, then ready or failed), and the plan's
stops, which drivers mark done.

How a plan is made (the city's night as sites, the routing problem, the solver) is the
`rebalancing` package: plain data in, a plan out. Here are the rules around it: one run
at a time per city, a run that outlived any search lost its process, and a city's nightly
run happens once a night.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, assert_never
from zoneinfo import ZoneInfo

# Longer than the longest search (an hour) and the reading and writing around it.
ABANDONED_AFTER = timedelta(hours=2)
ABANDONED_ERROR = "abandoned: its process ended"
NEVER_TAKEN_ERROR = "abandoned: no planning worker took it"
# A night's run missed while the job was down is still made this long after its time;
# later, the next night's run comes first.
NIGHTLY_CATCH_UP = timedelta(hours=12)

Position = tuple[float, float]  # (lon, lat), WGS 84


class PlanState(StrEnum):
    QUEUED = "queued"  # asked for: the next free planning worker makes it
    RUNNING = "running"  # the run is reading the city or searching
    READY = "ready"  # the plan is made: drivers may work through its stops
    FAILED = "failed"  # no plan: `error` says why


class RunTrigger(StrEnum):
    """Who started a run."""

    OPERATOR = "operator"  # the API (the console's "Plan now")
    NIGHTLY = "nightly"  # the schedule, at the city's nightly hour
    COMMAND = "command"  # `python -m rebalancing plan`


@dataclass(frozen=True)
class TruckSpec:
    capacity: int  # bikes
    shift_hours: float


@dataclass(frozen=True)
class TruckFleet:
    """A city's trucks for the nightly rebalancing, and when and how long the run searches."""

    city_id: str
    depot: Position
    trucks: tuple[TruckSpec, ...]
    speed_kph: float
    nightly_hour: int  # local time
    time_limit_seconds: int
    depot_stock: int = 0  # bikes waiting at the depot to go out
    routing_url: str | None = None  # the base of an OSRM-style table API, if the city has one
    # Trip starts each morning search that found no vehicle adds to its hotspot's forecast
    # (rebalancing.demand.with_unmet); 0: off, the forecast is the trips alone.
    unmet_demand_weight: float = 0.0

    def latest_nightly_time(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The latest instant at or before `now` (aware) when the nightly hour began in the
        city's time zone. On a spring-forward night whose nightly hour does not exist
        (02:00 in Berlin on 2027-03-28), it is the first minute after the gap: zoneinfo
        reads a missing wall time with the offset before the gap (PEP 495, fold=0). On a
        fall-back night whose nightly hour comes twice, it is the first of the two."""
        today = now.astimezone(zone).date()
        for day in (today, today - timedelta(days=1), today - timedelta(days=2)):
            began = datetime.combine(day, time(self.nightly_hour), tzinfo=zone).astimezone(UTC)
            if began <= now:
                return began
        raise AssertionError("a nightly hour begins every day")


@dataclass(frozen=True)
class SearchLimits:
    """How a run searches, as it was asked to: kept with a queued plan for the worker."""

    time_limit_seconds: float | None = None  # None: the fleet's own
    seed: int | None = None  # makes the plan repeatable
    solution_limit: int | None = None  # None: the solver's default


DEFAULT_SEARCH = SearchLimits()


@dataclass(frozen=True)
class RebalancingPlan:
    """One run of the job for a city, and the plan it made (numbered per city)."""

    id: uuid.UUID
    city_id: str
    version: int
    state: PlanState
    trigger: RunTrigger
    started_at: datetime  # asked for while queued; taken by a worker once running
    finished_at: datetime | None = None
    error: str | None = None  # why it failed
    summary: dict[str, Any] | None = None  # `rebalancing.plans.Summary`, once ready
    search: SearchLimits = DEFAULT_SEARCH

    def is_abandoned(self, now: datetime) -> bool:
        """Still running long after any search could have ended: its process ended (a
        restart); or still queued as long: no planning worker runs. It is failed, so that
        it does not block the city for good."""
        match self.state:
            case PlanState.QUEUED | PlanState.RUNNING:
                return self.started_at < now - ABANDONED_AFTER
            case PlanState.READY | PlanState.FAILED:
                return False
            case _:
                assert_never(self.state)

    def why_abandoned(self) -> str:
        match self.state:
            case PlanState.QUEUED:
                return NEVER_TAKEN_ERROR
            case PlanState.RUNNING | PlanState.READY | PlanState.FAILED:
                return ABANDONED_ERROR
            case _:
                assert_never(self.state)

    def is_drivable(self) -> bool:
        """Drivers work through a plan only once it is made."""
        match self.state:
            case PlanState.READY:
                return True
            case PlanState.QUEUED | PlanState.RUNNING | PlanState.FAILED:
                return False
            case _:
                assert_never(self.state)


def nightly_run_is_due(
    last_nightly: RebalancingPlan | None, nightly_time: datetime, now: datetime
) -> bool:
    """From its nightly time (`TruckFleet.latest_nightly_time`), a city gets one nightly
    run, caught up on start for NIGHTLY_CATCH_UP if the job was down then."""
    if now - nightly_time > NIGHTLY_CATCH_UP:
        return False
    return last_nightly is None or last_nightly.started_at < nightly_time


@dataclass(frozen=True)
class PlanStop:
    """A stop of a stored plan, as drivers work through it."""

    truck: int  # numbered from 1
    seq: int  # its place in the truck's route, from 1
    site: str
    position: Position
    bikes: int  # > 0 picked up, < 0 put down
    asset_ids: tuple[uuid.UUID, ...]  # planned pick-ups; once done, the bikes that moved
    metres_from_previous: int
    done_at: datetime | None = None

    @property
    def is_pick_up(self) -> bool:
        return self.bikes > 0
