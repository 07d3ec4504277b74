"""The repository of the rebalancing context, as the use cases need it: what a run reads of
a city's night, the city's trucks, the plans and their stops.

Implemented on PostgreSQL in `rental.adapters.rebalancing`, in memory in the unit tests.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from rebalancing.plans import PlannedStop, Summary
from rebalancing.state import Cell, Hotspot, ParkedBike
from rental.domain.fleet import ServicePolicy
from rental.domain.rebalancing import (
    DEFAULT_SEARCH,
    PlanState,
    PlanStop,
    RebalancingPlan,
    RunTrigger,
    SearchLimits,
    TruckFleet,
)

# Trip starts per day, per hotspot key and per grid cell outside every hotspot.
StartsByZone = dict[str, dict[date, int]]
StartsByCell = dict[Cell, dict[date, int]]


class RebalancingRepository(Protocol):
    # --- the city's night ---------------------------------------------------------------

    def hotspots(self, city_id: str) -> list[Hotspot]:
        """The operator's parking zones, each with a point inside it for trucks to stop."""
        ...

    def parked_bikes(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[ParkedBike]:
        """Bikes riders could take now, where they are, and the zone they stand in."""
        ...

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Trips that started in the morning hours (local time) since `since`, per day:
        per hotspot, and per grid cell for those that started outside every hotspot."""
        ...

    def morning_unmet_searches(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Nearby searches that found no vehicle in the morning hours (local time) since
        `since`, per day, placed at their cell's center (`rental.domain.unmet_demand`): per
        hotspot, and per grid cell of `cell_degrees` for those outside every hotspot."""
        ...

    def first_trip_day(self, city_id: str) -> date | None: ...

    def timezone(self, city_id: str) -> str | None:
        """The city's time zone; None: no such city."""
        ...

    # --- the trucks ---------------------------------------------------------------------

    def fleet(self, city_id: str) -> TruckFleet | None: ...

    def fleets(self) -> list[TruckFleet]: ...

    def save_fleet(self, fleet: TruckFleet) -> None: ...

    # --- plans --------------------------------------------------------------------------

    def plan_under_way(self, city_id: str) -> RebalancingPlan | None:
        """The city's plan queued or in the making, if any (there is at most one)."""
        ...

    def add_plan(
        self,
        city_id: str,
        trigger: RunTrigger,
        started_at: datetime,
        *,
        state: PlanState = PlanState.RUNNING,
        search: SearchLimits = DEFAULT_SEARCH,
    ) -> RebalancingPlan | None:
        """A new plan, running or queued, numbered after the city's last; None when another
        run of the city is queued or under way (one asked for meanwhile)."""
        ...

    def take_queued_plan(self, now: datetime) -> RebalancingPlan | None:
        """The oldest queued plan of any city, now running since `now`; None when none is
        queued. Workers side by side never take the same one, nor wait for each other."""
        ...

    def end_plan(
        self,
        plan_id: uuid.UUID,
        state: PlanState,
        finished_at: datetime,
        *,
        summary: Summary | None = None,
        error: str | None = None,
    ) -> None:
        """The plan's run ended in `state`; a summary or error not given is left as it is."""
        ...

    def add_stops(self, plan_id: uuid.UUID, stops: Sequence[PlannedStop]) -> None: ...

    def plan(self, plan_id: uuid.UUID) -> RebalancingPlan | None: ...

    def latest_plan(
        self, city_id: str, trigger: RunTrigger | None = None
    ) -> RebalancingPlan | None: ...

    def stops(self, plan_id: uuid.UUID) -> list[PlanStop]:
        """By truck, then in driving order."""
        ...

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> PlanStop | None: ...

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        """The stop is done; its bikes are now the ones that really moved."""
        ...
