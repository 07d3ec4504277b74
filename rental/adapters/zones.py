"""A city's zones in PostGIS, and the spatial questions trips ask of them. What the answers
mean (where trips may end, what counts as speeding) is `rental.domain.zones`."""

import json
import uuid
from collections.abc import Set
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, shape
from sqlalchemy import ARRAY, Connection, Float, Integer, delete, func, insert, literal, select

from rental.adapters.repositories import point
from rental.adapters.tables import assets, rentals, speeding_events, zones
from rental.domain.zones import Speeding, SpeedZone, Zone, ZoneKind, ZonesAt
from rental.services.read_models import SpeedingRecord

_NUMBERS = ARRAY(Float)
_INDEXES = ARRAY(Integer)


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

    def all_in(self, city_id: str) -> list[Zone]:
        """The city's zones, stored (with their ids), by kind and name."""
        rows = self._c.execute(
            select(
                zones.c.id,
                zones.c.kind,
                zones.c.name,
                zones.c.max_speed_kph,
                # Zones stored before imports were normalised: the right-hand rule too.
                func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(zones.c.geometry)).label("geometry"),
            )
            .where(zones.c.city_id == city_id)
            .order_by(zones.c.kind, zones.c.name)
        ).mappings()
        return [
            Zone(
                ZoneKind(row["kind"]),
                row["name"],
                json.loads(row["geometry"]),
                row["max_speed_kph"],
                row["id"],
            )
            for row in rows
        ]

    def at_position(self, city_id: str, lon: float, lat: float) -> ZonesAt:
        """The kinds of the zones that cover the point (boundaries count as inside), and
        whether the city has a service area at all."""
        here = point(lon, lat)
        has_area = (
            select(zones.c.id)
            .where(zones.c.city_id == city_id, zones.c.kind == ZoneKind.SERVICE_AREA.value)
            .exists()
        )
        kinds = func.array(
            select(zones.c.kind)
            .where(zones.c.city_id == city_id, func.ST_Covers(zones.c.geometry, here))
            .scalar_subquery()
        )
        row = self._c.execute(select(has_area, kinds)).one()
        return ZonesAt(frozenset(ZoneKind(kind) for kind in row[1]), bool(row[0]))

    def speed_zones_at(
        self, city_id: str, positions: list[tuple[float, float]], kinds: Set[ZoneKind]
    ) -> list[list[SpeedZone]]:
        """For each (lon, lat), the city's zones of these kinds that cover it."""
        found: list[list[SpeedZone]] = [[] for _ in positions]
        if not positions:
            return found
        samples = select(
            _unnest(list(range(len(positions))), _INDEXES).label("number"),
            _unnest([lon for lon, _ in positions], _NUMBERS).label("lon"),
            _unnest([lat for _, lat in positions], _NUMBERS).label("lat"),
        ).subquery()
        position = func.ST_SetSRID(func.ST_MakePoint(samples.c.lon, samples.c.lat), 4326)
        rows = self._c.execute(
            select(samples.c.number, zones.c.id, zones.c.name, zones.c.kind, zones.c.max_speed_kph)
            .join(zones, func.ST_Covers(zones.c.geometry, position))
            .where(zones.c.city_id == city_id)
            .where(zones.c.kind.in_([kind.value for kind in kinds]))
        )
        for number, zone_id, name, kind, max_speed_kph in rows:
            found[number].append(SpeedZone(zone_id, name, ZoneKind(kind), max_speed_kph))
        return found

    def add_speeding(self, rental_id: uuid.UUID, found: list[Speeding]) -> int:
        if found:
            self._c.execute(
                insert(speeding_events),
                [
                    {
                        "rental_id": rental_id,
                        "zone_id": speeding.zone_id,
                        "zone_name": speeding.zone_name,
                        "recorded_at": speeding.recorded_at,
                        "speed_kph": speeding.speed_kph,
                        "max_speed_kph": speeding.max_speed_kph,
                        "position": f"SRID=4326;POINT({speeding.lon} {speeding.lat})",
                    }
                    for speeding in found
                ],
            )
        return len(found)

    def speeding_in(self, city_id: str, since: datetime) -> list[SpeedingRecord]:
        """Newest first, at most 500."""
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
        return [SpeedingRecord(**row) for row in rows]
