"""A city's zones in PostGIS, and the spatial questions trips ask of them."""

import json
import uuid
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, shape
from sqlalchemy import ARRAY, Connection, DateTime, Float, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import UUID, distinct_on

from rental.adapters.repositories import point
from rental.adapters.tables import assets, rentals, speeding_events, zones
from rental.domain.trace import SpeedSample
from rental.domain.zones import Zone, ZoneKind

_TIMES = ARRAY(DateTime(timezone=True))
_NUMBERS = ARRAY(Float)


def _unnest(values: list[Any], array_type: Any) -> Any:
    return func.unnest(literal(values, array_type))


def _multipolygon(geojson: dict[str, Any]) -> str:
    """EWKT, which a many-row insert can bind (an SQL expression per row it cannot)."""
    polygon = shape(geojson)
    multi = polygon if isinstance(polygon, MultiPolygon) else MultiPolygon([polygon])
    return f"SRID=4326;{multi.wkt}"


class ZoneRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def replace(self, city_id: str, new_zones: list[Zone]) -> int:
        """The city's zones become exactly these (an import is the whole map, not a patch)."""
        self._c.execute(delete(zones).where(zones.c.city_id == city_id))
        if new_zones:
            self._c.execute(
                insert(zones),
                [
                    {
                        "id": uuid.uuid4(),
                        "city_id": city_id,
                        "kind": zone.kind.value,
                        "name": zone.name,
                        "max_speed_kph": zone.max_speed_kph,
                        "geometry": _multipolygon(zone.geometry),
                    }
                    for zone in new_zones
                ],
            )
        return len(new_zones)

    def as_features(self, city_id: str) -> list[dict[str, Any]]:
        rows = self._c.execute(
            select(
                zones.c.id,
                zones.c.kind,
                zones.c.name,
                zones.c.max_speed_kph,
                func.ST_AsGeoJSON(zones.c.geometry).label("geometry"),
            )
            .where(zones.c.city_id == city_id)
            .order_by(zones.c.kind, zones.c.name)
        ).mappings()
        return [
            {
                "type": "Feature",
                "id": str(row["id"]),
                "geometry": json.loads(row["geometry"]),
                "properties": {
                    "kind": row["kind"],
                    "name": row["name"],
                    **({"max_speed_kph": row["max_speed_kph"]} if row["max_speed_kph"] else {}),
                },
            }
            for row in rows
        ]

    def at_position(self, city_id: str, lon: float, lat: float) -> tuple[bool, set[ZoneKind]]:
        """Whether the point is inside the service area (true where the city has none), and
        the kinds of the other zones that cover it. Boundaries count as inside."""
        here = point(lon, lat)
        area = select(zones.c.geometry).where(
            zones.c.city_id == city_id, zones.c.kind == ZoneKind.SERVICE_AREA.value
        )
        has_area = area.exists()
        in_area = area.where(func.ST_Covers(zones.c.geometry, here)).exists()
        kinds = func.array(
            select(zones.c.kind)
            .where(zones.c.city_id == city_id, zones.c.kind != ZoneKind.SERVICE_AREA.value)
            .where(func.ST_Covers(zones.c.geometry, here))
            .scalar_subquery()
        )
        row = self._c.execute(select(has_area, in_area, kinds)).one()
        return (not row[0]) or row[1], {ZoneKind(kind) for kind in row[2]}

    def record_speeding(self, rental_id: uuid.UUID, city_id: str, fixes: list[SpeedSample]) -> int:
        """Store the fixes that went faster than a slow zone covering them allows, and those
        inside a no-ride zone (a limit of 0)."""
        if not fixes:
            return 0
        samples = (
            select(
                _unnest([f.recorded_at for f in fixes], _TIMES).label("recorded_at"),
                _unnest([f.lon for f in fixes], _NUMBERS).label("lon"),
                _unnest([f.lat for f in fixes], _NUMBERS).label("lat"),
                _unnest([f.speed_kph for f in fixes], _NUMBERS).label("speed_kph"),
            )
        ).subquery()
        position = func.ST_SetSRID(func.ST_MakePoint(samples.c.lon, samples.c.lat), 4326)
        limit = func.coalesce(zones.c.max_speed_kph, 0.0)
        speeding = (
            select(
                literal(rental_id, UUID(as_uuid=True)).label("rental_id"),
                zones.c.id,
                zones.c.name,
                samples.c.recorded_at,
                samples.c.speed_kph,
                limit,
                position,
            )
            .join(zones, func.ST_Covers(zones.c.geometry, position))
            .where(zones.c.city_id == city_id)
            .where(
                ((zones.c.kind == ZoneKind.SLOW.value) & (samples.c.speed_kph > limit))
                | (zones.c.kind == ZoneKind.NO_RIDE.value)
            )
            .ext(distinct_on(samples.c.recorded_at))
            .order_by(samples.c.recorded_at, limit)
        )
        inserted = self._c.execute(
            insert(speeding_events)
            .from_select(
                [
                    "rental_id",
                    "zone_id",
                    "zone_name",
                    "recorded_at",
                    "speed_kph",
                    "max_speed_kph",
                    "position",
                ],
                speeding,
            )
            .returning(speeding_events.c.id)
        )
        return len(inserted.all())

    def speeding_in(self, city_id: str, since: datetime) -> list[dict[str, Any]]:
        rows = self._c.execute(
            select(
                speeding_events.c.rental_id,
                assets.c.code.label("asset_code"),
                speeding_events.c.zone_name,
                speeding_events.c.recorded_at,
                speeding_events.c.speed_kph,
                speeding_events.c.max_speed_kph,
                func.ST_X(speeding_events.c.position).label("lon"),
                func.ST_Y(speeding_events.c.position).label("lat"),
            )
            .join(rentals, rentals.c.id == speeding_events.c.rental_id)
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id, speeding_events.c.recorded_at >= since)
            .order_by(speeding_events.c.recorded_at.desc())
            .limit(500)
        ).mappings()
        return [dict(row) for row in rows]
