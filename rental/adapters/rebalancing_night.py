"""What a rebalancing run reads of a city's night, on PostGIS: its hotspots (the operator's
parking zones), the bikes riders could take now and where they stand, and the trips that
started in the morning hours, per hotspot and per grid cell outside them (and the
searches then that found no vehicle, counted the same way)."""

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, Integer, and_, cast, extract, func, select

from rebalancing.state import Hotspot, ParkedBike
from rental.adapters.availability import available_to_riders
from rental.adapters.repositories import HOLDING_DEVICE
from rental.adapters.tables import assets, cities, locks, rentals, unmet_searches, zones
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy
from rental.domain.unmet_demand import CELL_DEGREES as UNMET_CELL_DEGREES
from rental.services.repositories.rebalancing import StartsByCell, StartsByZone

VEHICLE_KIND_VALUES = [kind.value for kind in VEHICLE_KINDS]
HOTSPOT_KIND = "parking"


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


class CityNightQueries:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def hotspots(self, city_id: str) -> list[Hotspot]:
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
        return [
            Hotspot(str(row.id), row.name, (row.lon, row.lat)) for row in self._c.execute(query)
        ]

    def parked_bikes(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[ParkedBike]:
        """Bikes riders could take now, where they are, and the zone they stand in."""
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
        return [
            ParkedBike(
                str(row.id),
                (row.lon, row.lat),
                str(row.hotspot) if row.hotspot is not None else None,
                row.battery_pct,
            )
            for row in self._c.execute(query)
        ]

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
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
        by_hotspot: StartsByZone = defaultdict(dict)
        by_cell: StartsByCell = defaultdict(dict)
        for spot, cell_x, cell_y, day, count in self._c.execute(query):
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell_x, cell_y]
            days[day] = days.get(day, 0) + count
        return dict(by_hotspot), dict(by_cell)

    def morning_unmet_searches(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Nearby searches that found no vehicle in the morning hours (local time) since
        `since`, per day, at their cell's center: per hotspot, and per grid cell of
        `cell_degrees` for those outside every hotspot."""
        timezone = select(cities.c.timezone).where(cities.c.id == city_id).scalar_subquery()
        local = func.timezone(timezone, unmet_searches.c.hour)
        lon = (unmet_searches.c.cell_x + 0.5) * UNMET_CELL_DEGREES
        lat = (unmet_searches.c.cell_y + 0.5) * UNMET_CELL_DEGREES
        hotspot = _hotspot_at(city_id, func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
        searches = (
            select(
                hotspot.label("hotspot"),
                cast(func.floor(lon / cell_degrees), Integer).label("cell_x"),
                cast(func.floor(lat / cell_degrees), Integer).label("cell_y"),
                cast(local, Date).label("day"),
                unmet_searches.c.searches,
            )
            .where(unmet_searches.c.city_id == city_id)
            .where(cast(local, Date) >= since)
            .where(and_(extract("hour", local) >= hours[0], extract("hour", local) < hours[1]))
            .subquery()
        )
        query = select(
            searches.c.hotspot,
            searches.c.cell_x,
            searches.c.cell_y,
            searches.c.day,
            func.sum(searches.c.searches),
        ).group_by(searches.c.hotspot, searches.c.cell_x, searches.c.cell_y, searches.c.day)
        by_hotspot: StartsByZone = defaultdict(dict)
        by_cell: StartsByCell = defaultdict(dict)
        for spot, cell_x, cell_y, day, count in self._c.execute(query):
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell_x, cell_y]
            days[day] = days.get(day, 0) + int(count)
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
