"""In-memory stand-ins for what the rebalancing's use cases touch: the rebalancing repository,
and the few asset, reservation and history calls a driver's stop makes. A unit of work keeps
its changes only when committed, like the real one.

(To be folded into `tests/unit/fakes.py` once the FakeUnitOfWork lands there.)
"""

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from rebalancing.plans import PlannedStop, Summary
from rebalancing.state import Cell, Hotspot, ParkedBike
from rental.domain.fleet import Asset, Lock, ServicePolicy
from rental.domain.mds import VehicleEvent
from rental.domain.rebalancing import (
    PlanState,
    PlanStop,
    RebalancingPlan,
    RunTrigger,
    TruckFleet,
)
from rental.services.read_models import ScanTarget


@dataclass
class FakeRebalancing:
    timezones: dict[str, str] = field(default_factory=dict)
    fleets_by_city: dict[str, TruckFleet] = field(default_factory=dict)
    zones: dict[str, list[Hotspot]] = field(default_factory=dict)
    bikes: dict[str, list[ParkedBike]] = field(default_factory=dict)
    starts_by_zone: dict[str, dict[str, dict[date, int]]] = field(default_factory=dict)
    starts_by_cell: dict[str, dict[Cell, dict[date, int]]] = field(default_factory=dict)
    plans: dict[uuid.UUID, RebalancingPlan] = field(default_factory=dict)
    plan_stops: dict[uuid.UUID, list[PlanStop]] = field(default_factory=dict)
    # Another process opens a run of this city between our look and our insert.
    run_started_meanwhile: str | None = None

    # --- the city's night

    def hotspots(self, city_id: str) -> list[Hotspot]:
        return list(self.zones.get(city_id, []))

    def parked_bikes(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[ParkedBike]:
        return list(self.bikes.get(city_id, []))

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[dict[str, dict[date, int]], dict[Cell, dict[date, int]]]:
        def recent(days: dict[date, int]) -> dict[date, int]:
            return {day: count for day, count in days.items() if day >= since}

        by_zone = {k: recent(v) for k, v in self.starts_by_zone.get(city_id, {}).items()}
        by_cell = {k: recent(v) for k, v in self.starts_by_cell.get(city_id, {}).items()}
        return by_zone, by_cell

    def first_trip_day(self, city_id: str) -> date | None:
        days = [
            day
            for starts in (self.starts_by_zone, self.starts_by_cell)
            for by_day in starts.get(city_id, {}).values()
            for day in by_day
        ]
        return min(days, default=None)

    def timezone(self, city_id: str) -> str | None:
        return self.timezones.get(city_id)

    # --- the trucks

    def fleet(self, city_id: str) -> TruckFleet | None:
        return self.fleets_by_city.get(city_id)

    def fleets(self) -> list[TruckFleet]:
        return [self.fleets_by_city[city] for city in sorted(self.fleets_by_city)]

    def save_fleet(self, fleet: TruckFleet) -> None:
        self.fleets_by_city[fleet.city_id] = fleet

    # --- plans

    def running_plan(self, city_id: str) -> RebalancingPlan | None:
        return next(
            (
                plan
                for plan in self.plans.values()
                if plan.city_id == city_id and plan.state is PlanState.RUNNING
            ),
            None,
        )

    def add_plan(
        self, city_id: str, trigger: RunTrigger, started_at: datetime
    ) -> RebalancingPlan | None:
        if self.run_started_meanwhile == city_id or self.running_plan(city_id):
            return None  # the unique index on running plans
        versions = [plan.version for plan in self.plans.values() if plan.city_id == city_id]
        plan = RebalancingPlan(
            uuid.uuid4(),
            city_id,
            max(versions, default=0) + 1,
            PlanState.RUNNING,
            trigger,
            started_at,
        )
        self.plans[plan.id] = plan
        return plan

    def end_plan(
        self,
        plan_id: uuid.UUID,
        state: PlanState,
        finished_at: datetime,
        *,
        summary: Summary | None = None,
        error: str | None = None,
    ) -> None:
        plan = self.plans[plan_id]
        self.plans[plan_id] = replace(
            plan,
            state=state,
            finished_at=finished_at,
            summary=plan.summary if summary is None else copy.deepcopy(summary),
            error=plan.error if error is None else error,
        )

    def add_stops(self, plan_id: uuid.UUID, stops: Sequence[PlannedStop]) -> None:
        self.plan_stops.setdefault(plan_id, []).extend(
            PlanStop(
                stop.truck,
                stop.seq,
                stop.site,
                stop.position,
                stop.bikes,
                tuple(uuid.UUID(asset) for asset in stop.asset_ids),
                stop.metres_from_previous,
            )
            for stop in stops
        )

    def plan(self, plan_id: uuid.UUID) -> RebalancingPlan | None:
        return self.plans.get(plan_id)

    def latest_plan(
        self, city_id: str, trigger: RunTrigger | None = None
    ) -> RebalancingPlan | None:
        plans = [
            plan
            for plan in self.plans.values()
            if plan.city_id == city_id and trigger in (None, plan.trigger)
        ]
        return max(plans, key=lambda plan: plan.version, default=None)

    def stops(self, plan_id: uuid.UUID) -> list[PlanStop]:
        return sorted(self.plan_stops.get(plan_id, []), key=lambda s: (s.truck, s.seq))

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> PlanStop | None:
        return next(
            (s for s in self.plan_stops.get(plan_id, []) if (s.truck, s.seq) == (truck, seq)),
            None,
        )

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        self.plan_stops[plan_id] = [
            replace(s, done_at=now, asset_ids=tuple(moved))
            if (s.truck, s.seq) == (truck, seq)
            else s
            for s in self.plan_stops[plan_id]
        ]


@dataclass
class FakeAssets:
    """Bikes by id, with whether a rider has each one (`taken`)."""

    by_id: dict[uuid.UUID, Asset] = field(default_factory=dict)
    taken: set[uuid.UUID] = field(default_factory=set)

    def get(self, asset_id: uuid.UUID) -> Asset | None:
        return self.by_id.get(asset_id)

    def for_scan(self, code: str, *args: Any, for_update: bool = False) -> ScanTarget | None:
        asset = next((a for a in self.by_id.values() if a.code == code), None)
        if asset is None:
            return None
        lock = Lock(asset.lock_id or "", b"")
        return ScanTarget(copy.copy(asset), lock, None, taken=asset.id in self.taken)

    def update_service(self, asset_id: uuid.UUID, **changes: bool) -> None:
        self.by_id[asset_id] = replace(self.by_id[asset_id], **changes)


class NoReservations:
    def get(self, reservation_id: uuid.UUID, *, for_update: bool = False) -> None:
        return None


@dataclass
class FakeHistory:
    events: list[tuple[VehicleEvent, uuid.UUID | None, float | None, float | None]] = field(
        default_factory=list
    )

    def record(
        self,
        kind: VehicleEvent,
        at: datetime,
        *,
        asset_id: uuid.UUID | None = None,
        lon: float | None = None,
        lat: float | None = None,
        **_: Any,
    ) -> None:
        self.events.append((kind, asset_id, lon, lat))


class FakeUnitOfWork:
    """The members the rebalancing's use cases use; changes kept only when committed."""

    def __init__(self) -> None:
        self.rebalancing = FakeRebalancing()
        self.assets = FakeAssets()
        self.reservations = NoReservations()
        self.vehicle_history = FakeHistory()
        self.commits = 0

    def __enter__(self) -> "FakeUnitOfWork":
        self._before = copy.deepcopy((self.rebalancing, self.assets, self.vehicle_history))
        self._committed = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.rebalancing, self.assets, self.vehicle_history = self._before

    def commit(self) -> None:
        self._committed = True
        self.commits += 1

    def __call__(self) -> "FakeUnitOfWork":
        """As `Platform.uow`: each call a unit of work (here always the same memory)."""
        return self
