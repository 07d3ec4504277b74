"""What the nightly rebalancing writes (a city's trucks, its plans and their stops) and reads
back, on PostGIS; what it reads of a city's night is in `rebalancing_night`. The rules (one
run at a time per city, which run is abandoned) are the use cases'; a unique index on
queued and running plans backs the first against two runs asked for at once."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from rebalancing.plans import PlannedStop, Summary
from rental.adapters.rebalancing_night import CityNightQueries
from rental.adapters.repositories import point
from rental.adapters.tables import rebalancing_fleets, rebalancing_plans, rebalancing_stops
from rental.domain.rebalancing import (
    DEFAULT_SEARCH,
    PlanState,
    PlanStop,
    RebalancingPlan,
    RunTrigger,
    SearchLimits,
    TruckFleet,
    TruckSpec,
)


def _plan_stops(plan_id: uuid.UUID) -> Any:
    """A plan's stops, with their positions as lon and lat."""
    return select(
        rebalancing_stops,
        func.ST_X(rebalancing_stops.c.position).label("lon"),
        func.ST_Y(rebalancing_stops.c.position).label("lat"),
    ).where(rebalancing_stops.c.plan_id == plan_id)


class RebalancingRepository(CityNightQueries):
    """The city's night (`CityNightQueries`), its trucks, and its plans."""

    # --- the trucks ---------------------------------------------------------------------

    def fleet(self, city_id: str) -> TruckFleet | None:
        row = self._c.execute(_fleets().where(rebalancing_fleets.c.city_id == city_id)).first()
        return _fleet(row) if row else None

    def fleets(self) -> list[TruckFleet]:
        query = _fleets().order_by(rebalancing_fleets.c.city_id)
        return [_fleet(row) for row in self._c.execute(query)]

    def save_fleet(self, fleet: TruckFleet) -> None:
        values = {
            "depot": point(*fleet.depot),
            "trucks": [
                {"capacity": truck.capacity, "shift_hours": truck.shift_hours}
                for truck in fleet.trucks
            ],
            "speed_kph": fleet.speed_kph,
            "nightly_hour": fleet.nightly_hour,
            "time_limit_seconds": fleet.time_limit_seconds,
            "depot_stock": fleet.depot_stock,
            "routing_url": fleet.routing_url,
            "unmet_demand_weight": fleet.unmet_demand_weight,
            "updated_at": func.now(),
        }
        updated = self._c.execute(
            update(rebalancing_fleets)
            .where(rebalancing_fleets.c.city_id == fleet.city_id)
            .values(**values)
        )
        if not updated.rowcount:
            self._c.execute(insert(rebalancing_fleets).values(city_id=fleet.city_id, **values))

    # --- plans --------------------------------------------------------------------------

    def plan_under_way(self, city_id: str) -> RebalancingPlan | None:
        query = select(rebalancing_plans).where(
            rebalancing_plans.c.city_id == city_id,
            rebalancing_plans.c.state.in_([PlanState.QUEUED.value, PlanState.RUNNING.value]),
        )
        row = self._c.execute(query).first()
        return _plan(row) if row else None

    def add_plan(
        self,
        city_id: str,
        trigger: RunTrigger,
        started_at: datetime,
        *,
        state: PlanState = PlanState.RUNNING,
        search: SearchLimits = DEFAULT_SEARCH,
    ) -> RebalancingPlan | None:
        version = (
            select(func.coalesce(func.max(rebalancing_plans.c.version), 0) + 1)
            .where(rebalancing_plans.c.city_id == city_id)
            .scalar_subquery()
        )
        try:
            with self._c.begin_nested():
                row = self._c.execute(
                    insert(rebalancing_plans)
                    .values(
                        id=uuid.uuid4(),
                        city_id=city_id,
                        version=version,
                        state=state.value,
                        trigger=trigger.value,
                        started_at=started_at,
                        time_limit_seconds=search.time_limit_seconds,
                        seed=search.seed,
                        solution_limit=search.solution_limit,
                    )
                    .returning(*rebalancing_plans.c)
                ).one()
        except IntegrityError:
            return None  # rebalancing_one_run_per_city: a run of the city is under way
        return _plan(row)

    def take_queued_plan(self, now: datetime) -> RebalancingPlan | None:
        # SKIP LOCKED: a plan another worker is taking right now is passed over, not waited on.
        oldest = (
            select(rebalancing_plans.c.id)
            .where(rebalancing_plans.c.state == PlanState.QUEUED.value)
            .order_by(rebalancing_plans.c.started_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = self._c.execute(
            update(rebalancing_plans)
            .where(rebalancing_plans.c.id == oldest)
            .values(state=PlanState.RUNNING.value, started_at=now)
            .returning(*rebalancing_plans.c)
        ).first()
        return _plan(row) if row else None

    def end_plan(
        self,
        plan_id: uuid.UUID,
        state: PlanState,
        finished_at: datetime,
        *,
        summary: Summary | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "finished_at": finished_at}
        if summary is not None:
            values["summary"] = summary
        if error is not None:
            values["error"] = error
        self._c.execute(
            update(rebalancing_plans).where(rebalancing_plans.c.id == plan_id).values(**values)
        )

    def add_stops(self, plan_id: uuid.UUID, stops: Sequence[PlannedStop]) -> None:
        for stop in stops:
            self._c.execute(
                insert(rebalancing_stops).values(
                    plan_id=plan_id,
                    truck=stop.truck,
                    seq=stop.seq,
                    site=stop.site,
                    position=point(*stop.position),
                    bikes=stop.bikes,
                    asset_ids=[uuid.UUID(asset) for asset in stop.asset_ids],
                    metres_from_previous=stop.metres_from_previous,
                )
            )

    def plan(self, plan_id: uuid.UUID) -> RebalancingPlan | None:
        query = select(rebalancing_plans).where(rebalancing_plans.c.id == plan_id)
        row = self._c.execute(query).first()
        return _plan(row) if row else None

    def latest_plan(
        self, city_id: str, trigger: RunTrigger | None = None
    ) -> RebalancingPlan | None:
        query = (
            select(rebalancing_plans)
            .where(rebalancing_plans.c.city_id == city_id)
            .order_by(rebalancing_plans.c.version.desc())
            .limit(1)
        )
        if trigger is not None:
            query = query.where(rebalancing_plans.c.trigger == trigger.value)
        row = self._c.execute(query).first()
        return _plan(row) if row else None

    def stops(self, plan_id: uuid.UUID) -> list[PlanStop]:
        query = _plan_stops(plan_id).order_by(rebalancing_stops.c.truck, rebalancing_stops.c.seq)
        return [_stop(row) for row in self._c.execute(query)]

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> PlanStop | None:
        query = (
            _plan_stops(plan_id)
            .where(rebalancing_stops.c.truck == truck, rebalancing_stops.c.seq == seq)
            .with_for_update()
        )
        row = self._c.execute(query).first()
        return _stop(row) if row else None

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        """The stop is done; its bikes are now the ones that really moved."""
        self._c.execute(
            update(rebalancing_stops)
            .where(rebalancing_stops.c.plan_id == plan_id)
            .where(rebalancing_stops.c.truck == truck, rebalancing_stops.c.seq == seq)
            .values(done_at=now, asset_ids=moved)
        )


def _fleets() -> Any:
    """The cities' trucks, with the depot as lon and lat."""
    return select(
        rebalancing_fleets,
        func.ST_X(rebalancing_fleets.c.depot).label("depot_lon"),
        func.ST_Y(rebalancing_fleets.c.depot).label("depot_lat"),
    )


def _fleet(row: Row[Any]) -> TruckFleet:
    return TruckFleet(
        city_id=row.city_id,
        depot=(row.depot_lon, row.depot_lat),
        trucks=tuple(TruckSpec(truck["capacity"], truck["shift_hours"]) for truck in row.trucks),
        speed_kph=row.speed_kph,
        nightly_hour=row.nightly_hour,
        time_limit_seconds=row.time_limit_seconds,
        depot_stock=row.depot_stock,
        routing_url=row.routing_url,
        unmet_demand_weight=row.unmet_demand_weight,
    )


def _plan(row: Row[Any]) -> RebalancingPlan:
    return RebalancingPlan(
        id=row.id,
        city_id=row.city_id,
        version=row.version,
        state=PlanState(row.state),
        trigger=RunTrigger(row.trigger),
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        summary=row.summary,
        search=SearchLimits(row.time_limit_seconds, row.seed, row.solution_limit),
    )


def _stop(row: Row[Any]) -> PlanStop:
    return PlanStop(
        truck=row.truck,
        seq=row.seq,
        site=row.site,
        position=(row.lon, row.lat),
        bikes=row.bikes,
        asset_ids=tuple(row.asset_ids),
        metres_from_previous=row.metres_from_previous,
        done_at=row.done_at,
    )
