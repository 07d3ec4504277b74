"""The rebalancing in memory: the city's night read from the store's zones, locks, assets
and rides, and the trucks, plans and stops (`rental.services.repositories.rebalancing`)."""

from __future__ import annotations

import copy
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rebalancing.plans import PlannedStop, Summary
from rebalancing.state import Hotspot, ParkedBike
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy, unavailable_because
from rental.domain.rebalancing import (
    DEFAULT_SEARCH,
    PlanState,
    PlanStop,
    RebalancingPlan,
    RunTrigger,
    SearchLimits,
    TruckFleet,
)
from rental.domain.unmet_demand import cell_center
from rental.services.repositories.rebalancing import StartsByCell, StartsByZone
from tests.unit.fakes.store import HOTSPOT_KIND, IntegrityViolation, Repository, jsonb

if TYPE_CHECKING:
    from tests.unit.fakes.unit_of_work import FakeUnitOfWork


class FakeRebalancingRepository(Repository):
    """The city's night read from the other tables, the trucks, plans and stops as records.
    Approximates ST_PointOnSurface by shapely's point_on_surface (another point inside the
    same zone). A plan's summary comes back as JSONB gives it (tuples as lists).

    `run_started_meanwhile` names a city whose run another process opens between a use
    case's look (`plan_under_way`) and its insert (`add_plan`): the insert then meets the
    unique index on queued and running plans, as in PostgreSQL."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        super().__init__(uow)
        self.run_started_meanwhile: str | None = None

    # --- the city's night

    def hotspots(self, city_id: str) -> list[Hotspot]:
        """The operator's parking zones, each with a point inside it for trucks to stop."""
        zones = [
            zone
            for zone in self._store.zones.values()
            if zone.city_id == city_id and zone.kind is HOTSPOT_KIND
        ]
        zones.sort(key=lambda zone: (zone.name, zone.id))
        found = []
        for zone in zones:
            inside = zone.geometry.point_on_surface()
            found.append(Hotspot(str(zone.id), zone.name, (inside.x, inside.y)))
        return found

    def parked_bikes(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[ParkedBike]:
        """Bikes riders could take now, where they are, and the hotspot they stand in."""
        store = self._store
        found = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.id):
            asset = row.asset
            device = store.lock_of(asset.device_id)
            if asset.city_id != city_id or asset.kind not in VEHICLE_KINDS or device is None:
                continue
            lon, lat = device.lock.lon, device.lock.lat
            if lon is None or lat is None:
                continue
            if unavailable_because(store.condition(row, device, now), now, policy):
                continue
            hotspot = store.hotspot_at(city_id, lon, lat)
            found.append(
                ParkedBike(
                    str(asset.id),
                    (lon, lat),
                    str(hotspot) if hotspot is not None else None,
                    device.lock.battery_pct,
                )
            )
        return found

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Trips that started in the morning hours (local time) since `since`, per day:
        per hotspot, and per grid cell for those that started outside every hotspot."""
        store = self._store
        if city_id not in store.cities:  # local time of no time zone: NULL, no trips
            return {}, {}
        timezone = ZoneInfo(store.cities[city_id].time_zone)
        by_hotspot: StartsByZone = defaultdict(dict)
        by_cell: StartsByCell = defaultdict(dict)
        for row in store.rentals.values():
            rental = row.rental
            asset = store.assets.get(rental.asset_id)
            if asset is None or asset.asset.city_id != city_id:
                continue
            if asset.asset.kind not in VEHICLE_KINDS or not row.trace or not rental.started_at:
                continue
            local = rental.started_at.astimezone(timezone)
            if local.date() < since or not hours[0] <= local.hour < hours[1]:
                continue
            lon, lat = row.trace[0]
            spot = store.hotspot_at(city_id, lon, lat)
            cell = (math.floor(lon / cell_degrees), math.floor(lat / cell_degrees))
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell]
            days[local.date()] = days.get(local.date(), 0) + 1
        return dict(by_hotspot), dict(by_cell)

    def morning_unmet_searches(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Searches that found no vehicle in the morning hours (local time) since `since`,
        per day, at their cell's center: per hotspot, and per grid cell outside them."""
        store = self._store
        if city_id not in store.cities:
            return {}, {}
        timezone = ZoneInfo(store.cities[city_id].time_zone)
        by_hotspot: StartsByZone = defaultdict(dict)
        by_cell: StartsByCell = defaultdict(dict)
        for (city, hour, x, y), searches in store.unmet_searches.items():
            local = hour.astimezone(timezone)
            if city != city_id or local.date() < since or not hours[0] <= local.hour < hours[1]:
                continue
            lon, lat = cell_center((x, y))
            spot = store.hotspot_at(city_id, lon, lat)
            cell = (math.floor(lon / cell_degrees), math.floor(lat / cell_degrees))
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell]
            days[local.date()] = days.get(local.date(), 0) + searches
        return dict(by_hotspot), dict(by_cell)

    def first_trip_day(self, city_id: str) -> date | None:
        store = self._store
        starts = [
            row.rental.started_at
            for row in store.rentals.values()
            if row.rental.started_at is not None
            and (asset := store.assets.get(row.rental.asset_id)) is not None
            and asset.asset.city_id == city_id
        ]
        city = store.cities.get(city_id)
        if not starts or city is None:
            return None
        return min(starts).astimezone(ZoneInfo(city.time_zone)).date()

    def timezone(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.time_zone if city else None

    # --- the trucks

    def fleet(self, city_id: str) -> TruckFleet | None:
        return self._store.rebalancing_fleets.get(city_id)

    def fleets(self) -> list[TruckFleet]:
        fleets = self._store.rebalancing_fleets
        return [fleets[city_id] for city_id in sorted(fleets)]

    def save_fleet(self, fleet: TruckFleet) -> None:
        self._store.rebalancing_fleets[fleet.city_id] = fleet

    # --- plans

    def plan_under_way(self, city_id: str) -> RebalancingPlan | None:
        """The city's plan queued or in the making, if any (there is at most one)."""
        under_way = self._plans(
            lambda plan: (
                plan.city_id == city_id and plan.state in (PlanState.QUEUED, PlanState.RUNNING)
            )
        )
        return under_way[0] if under_way else None

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
        run of the city is queued or under way (the unique index)."""
        if self.run_started_meanwhile == city_id or self.plan_under_way(city_id) is not None:
            return None
        versions = [plan.version for plan in self._plans(lambda plan: plan.city_id == city_id)]
        plan = RebalancingPlan(
            uuid.uuid4(),
            city_id,
            max(versions, default=0) + 1,
            state,
            trigger,
            started_at,
            search=search,
        )
        self._store.rebalancing_plans[plan.id] = plan
        return copy.deepcopy(plan)

    def take_queued_plan(self, now: datetime) -> RebalancingPlan | None:
        """The oldest queued plan, now running since `now`."""
        queued = self._plans(lambda plan: plan.state is PlanState.QUEUED)
        if not queued:
            return None
        oldest = min(queued, key=lambda plan: plan.started_at)
        taken = replace(oldest, state=PlanState.RUNNING, started_at=now)
        self._store.rebalancing_plans[taken.id] = taken
        return copy.deepcopy(taken)

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
        plans = self._store.rebalancing_plans
        plan = plans.get(plan_id)
        if plan is None:
            return
        plans[plan_id] = replace(
            plan,
            state=state,
            finished_at=finished_at,
            summary=plan.summary if summary is None else jsonb(summary),
            error=plan.error if error is None else error,
        )

    def add_stops(self, plan_id: uuid.UUID, stops: Sequence[PlannedStop]) -> None:
        store = self._store
        for stop in stops:
            key = (plan_id, stop.truck, stop.seq)
            if key in store.rebalancing_stops:
                raise IntegrityViolation("rebalancing_stops_pkey")
            lon, lat = stop.position
            store.rebalancing_stops[key] = PlanStop(
                stop.truck,
                stop.seq,
                stop.site,
                (lon, lat),
                stop.bikes,
                tuple(uuid.UUID(asset) for asset in stop.asset_ids),
                stop.metres_from_previous,
            )

    def plan(self, plan_id: uuid.UUID) -> RebalancingPlan | None:
        plan = self._store.rebalancing_plans.get(plan_id)
        return copy.deepcopy(plan) if plan else None

    def latest_plan(
        self, city_id: str, trigger: RunTrigger | None = None
    ) -> RebalancingPlan | None:
        plans = self._plans(
            lambda plan: plan.city_id == city_id and trigger in (None, plan.trigger)
        )
        return max(plans, key=lambda plan: plan.version, default=None)

    def stops(self, plan_id: uuid.UUID) -> list[PlanStop]:
        """By truck, then in driving order."""
        stops = self._store.rebalancing_stops
        return [stops[key] for key in sorted(stops) if key[0] == plan_id]

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> PlanStop | None:
        return self._store.rebalancing_stops.get((plan_id, truck, seq))

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        """The stop is done; its bikes are now the ones that really moved."""
        stops = self._store.rebalancing_stops
        key = (plan_id, truck, seq)
        if key in stops:
            stops[key] = replace(stops[key], done_at=now, asset_ids=tuple(moved))

    def _plans(self, matches: Callable[[RebalancingPlan], bool]) -> list[RebalancingPlan]:
        plans = self._store.rebalancing_plans.values()
        return [copy.deepcopy(plan) for plan in plans if matches(plan)]
