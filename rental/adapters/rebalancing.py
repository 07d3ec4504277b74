"""What the nightly rebalancing reads (hotspots, available bikes, morning trips) and
writes (its trucks, plans and stops), on PostGIS."""

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    and_,
    cast,
    extract,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from rental.adapters.availability import available_to_riders
from rental.adapters.repositories import HOLDING_DEVICE, point
from rental.adapters.tables import (
    assets,
    cities,
    locks,
    rebalancing_fleets,
    rebalancing_plans,
    rebalancing_stops,
    rentals,
    zones,
)
from rental.domain.errors import Conflict
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy

VEHICLE_KIND_VALUES = [kind.value for kind in VEHICLE_KINDS]
HOTSPOT_KIND = "parking"
# Longer than the longest search (an hour) and the reading and writing around it.
ABANDONED_AFTER = timedelta(hours=2)


def _plan_stops(plan_id: uuid.UUID) -> Any:
    """A plan's stops, with their positions as lon and lat."""
    return select(
        rebalancing_stops,
        func.ST_X(rebalancing_stops.c.position).label("lon"),
        func.ST_Y(rebalancing_stops.c.position).label("lat"),
    ).where(rebalancing_stops.c.plan_id == plan_id)


def _hotspot_at(city_id: str, position: Any) -> Any:
    """The hotspot covering `position` (the first by name where hotspots overlap)."""
    return (
        select(zones.c.id)
        .where(zones.c.city_id == city_id, zones.c.kind == HOTSPOT_KIND)
        .where(func.ST_Covers(zones.c.geometry, position))
        .order_by(zones.c.name, zones.c.id)
        .limit(1)
        .scalar_subquery()
    )


class RebalancingRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # --- the city's night ---------------------------------------------------------------

    def hotspots(self, city_id: str) -> list[dict[str, Any]]:
        """The operator's parking zones, each with a point inside it for trucks to stop."""
        inside = func.ST_PointOnSurface(zones.c.geometry)
        query = (
            select(
                zones.c.id,
                zones.c.name,
                func.ST_X(inside).label("lon"),
                func.ST_Y(inside).label("lat"),
            )
            .where(zones.c.city_id == city_id, zones.c.kind == HOTSPOT_KIND)
            .order_by(zones.c.name, zones.c.id)
        )
        return [dict(row) for row in self._c.execute(query).mappings()]

    def parked_bikes(
        self, city_id: str, now: datetime, policy: ServicePolicy
    ) -> list[dict[str, Any]]:
        """Bikes riders could take now, where they are, and the hotspot they stand in."""
        hotspot = _hotspot_at(city_id, locks.c.position)
        query = (
            select(
                assets.c.id,
                func.ST_X(locks.c.position).label("lon"),
                func.ST_Y(locks.c.position).label("lat"),
                locks.c.battery_pct,
                hotspot.label("hotspot"),
            )
            .join(locks, HOLDING_DEVICE)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(locks.c.position.isnot(None))
            .where(available_to_riders(now, now - policy.silence, policy.low_battery_pct))
            .order_by(assets.c.id)
        )
        return [dict(row) for row in self._c.execute(query).mappings()]

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[dict[str, dict[date, int]], dict[tuple[int, int], dict[date, int]]]:
        """Trips that started in the morning hours (local time) since `since`, per day:
        per hotspot, and per grid cell for those that started outside every hotspot."""
        timezone = select(cities.c.timezone).where(cities.c.id == city_id).scalar_subquery()
        local = func.timezone(timezone, rentals.c.started_at)
        start = func.ST_StartPoint(rentals.c.trace)
        hotspot = _hotspot_at(city_id, start)
        trips = (
            select(
                hotspot.label("hotspot"),
                cast(func.floor(func.ST_X(start) / cell_degrees), Integer).label("cell_x"),
                cast(func.floor(func.ST_Y(start) / cell_degrees), Integer).label("cell_y"),
                cast(local, Date).label("day"),
            )
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(rentals.c.trace.isnot(None), rentals.c.started_at.isnot(None))
            .where(cast(local, Date) >= since)
            .where(and_(extract("hour", local) >= hours[0], extract("hour", local) < hours[1]))
            .subquery()
        )
        query = select(
            trips.c.hotspot, trips.c.cell_x, trips.c.cell_y, trips.c.day, func.count()
        ).group_by(trips.c.hotspot, trips.c.cell_x, trips.c.cell_y, trips.c.day)
        by_hotspot: dict[str, dict[date, int]] = defaultdict(dict)
        by_cell: dict[tuple[int, int], dict[date, int]] = defaultdict(dict)
        for spot, cell_x, cell_y, day, count in self._c.execute(query):
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell_x, cell_y]
            days[day] = days.get(day, 0) + count
        return dict(by_hotspot), dict(by_cell)

    def first_trip_day(self, city_id: str) -> date | None:
        timezone = select(cities.c.timezone).where(cities.c.id == city_id).scalar_subquery()
        query = (
            select(cast(func.timezone(timezone, func.min(rentals.c.started_at)), Date))
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id)
        )
        first: date | None = self._c.execute(query).scalar_one_or_none()
        return first

    def timezone(self, city_id: str) -> str | None:
        query = select(cities.c.timezone).where(cities.c.id == city_id)
        zone: str | None = self._c.execute(query).scalar_one_or_none()
        return zone

    # --- the trucks ---------------------------------------------------------------------

    def fleet(self, city_id: str) -> dict[str, Any] | None:
        query = select(
            rebalancing_fleets,
            func.ST_X(rebalancing_fleets.c.depot).label("depot_lon"),
            func.ST_Y(rebalancing_fleets.c.depot).label("depot_lat"),
        ).where(rebalancing_fleets.c.city_id == city_id)
        row = self._c.execute(query).mappings().first()
        return dict(row) if row else None

    def fleets(self) -> list[dict[str, Any]]:
        query = select(rebalancing_fleets.c.city_id, rebalancing_fleets.c.nightly_hour)
        return [dict(row) for row in self._c.execute(query).mappings()]

    def save_fleet(self, city_id: str, depot: tuple[float, float], **settings: Any) -> None:
        values = {"depot": point(*depot), **settings, "updated_at": func.now()}
        updated = self._c.execute(
            update(rebalancing_fleets)
            .where(rebalancing_fleets.c.city_id == city_id)
            .values(**values)
        )
        if not updated.rowcount:
            self._c.execute(insert(rebalancing_fleets).values(city_id=city_id, **values))

    # --- plans --------------------------------------------------------------------------

    def start_run(self, city_id: str, trigger: str, now: datetime) -> tuple[uuid.UUID, int]:
        """A new plan, running; Conflict while another run for the city is under way. A run
        still `running` long after any search could have ended lost its process (a
        restart): it is marked failed, so that it does not block the city for good."""
        self._c.execute(
            update(rebalancing_plans)
            .where(rebalancing_plans.c.city_id == city_id, rebalancing_plans.c.state == "running")
            .where(rebalancing_plans.c.started_at < now - ABANDONED_AFTER)
            .values(state="failed", finished_at=now, error="abandoned: its process ended")
        )
        plan_id = uuid.uuid4()
        version = (
            select(func.coalesce(func.max(rebalancing_plans.c.version), 0) + 1)
            .where(rebalancing_plans.c.city_id == city_id)
            .scalar_subquery()
        )
        try:
            with self._c.begin_nested():
                number = self._c.execute(
                    insert(rebalancing_plans)
                    .values(
                        id=plan_id,
                        city_id=city_id,
                        version=version,
                        state="running",
                        trigger=trigger,
                        started_at=now,
                    )
                    .returning(rebalancing_plans.c.version)
                ).scalar_one()
        except IntegrityError:
            raise Conflict(
                "a rebalancing run for this city is under way", "rebalancing_running"
            ) from None
        return plan_id, int(number)

    def finish_run(
        self,
        plan_id: uuid.UUID,
        now: datetime,
        summary: dict[str, Any],
        stops: list[dict[str, Any]],
    ) -> None:
        for stop in stops:
            self._c.execute(
                insert(rebalancing_stops).values(
                    plan_id=plan_id,
                    truck=stop["truck"],
                    seq=stop["seq"],
                    site=stop["site"],
                    position=point(*stop["position"]),
                    bikes=stop["bikes"],
                    asset_ids=[uuid.UUID(asset) for asset in stop["asset_ids"]],
                    metres_from_previous=stop["metres_from_previous"],
                )
            )
        self._end(plan_id, now, state="ready", summary=summary)

    def fail_run(self, plan_id: uuid.UUID, now: datetime, error: str) -> None:
        self._end(plan_id, now, state="failed", error=error)

    def _end(self, plan_id: uuid.UUID, now: datetime, **values: Any) -> None:
        self._c.execute(
            update(rebalancing_plans)
            .where(rebalancing_plans.c.id == plan_id)
            .values(finished_at=now, **values)
        )

    def plan(self, plan_id: uuid.UUID) -> dict[str, Any] | None:
        query = select(rebalancing_plans).where(rebalancing_plans.c.id == plan_id)
        row = self._c.execute(query).mappings().first()
        return dict(row) if row else None

    def latest_plan(self, city_id: str, trigger: str | None = None) -> dict[str, Any] | None:
        query = (
            select(rebalancing_plans)
            .where(rebalancing_plans.c.city_id == city_id)
            .order_by(rebalancing_plans.c.version.desc())
            .limit(1)
        )
        if trigger is not None:
            query = query.where(rebalancing_plans.c.trigger == trigger)
        row = self._c.execute(query).mappings().first()
        return dict(row) if row else None

    def stops(self, plan_id: uuid.UUID) -> list[dict[str, Any]]:
        query = _plan_stops(plan_id).order_by(rebalancing_stops.c.truck, rebalancing_stops.c.seq)
        return [dict(row) for row in self._c.execute(query).mappings()]

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> dict[str, Any] | None:
        query = (
            _plan_stops(plan_id)
            .where(rebalancing_stops.c.truck == truck, rebalancing_stops.c.seq == seq)
            .with_for_update()
        )
        row = self._c.execute(query).mappings().first()
        return dict(row) if row else None

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
