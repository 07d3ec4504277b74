"""Cities and their zones in memory; shapely answers what PostGIS does
(`rental.services.repositories.city`)."""

import uuid
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, Point, mapping, shape

from rental.domain.trace import SpeedSample
from rental.domain.zones import Zone, ZoneKind
from tests.unit.fakes.store import (
    CityRow,
    IntegrityViolation,
    Repository,
    SpeedingRow,
    ZoneRow,
    jsonb,
)


class FakeCityRepository(Repository):
    def add(
        self, city_id: str, name: str, currency: str, timezone: str, lon: float, lat: float
    ) -> None:
        if city_id in self._store.cities:
            raise IntegrityViolation("cities_pkey")
        self._store.cities[city_id] = CityRow(city_id, name, currency, timezone, lon, lat)

    def currency_of(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.currency if city else None


class FakeZoneRepository(Repository):
    """Coverage is planar in degrees, as PostGIS's ST_Covers on `geometry`: the same answer."""

    def replace(self, city_id: str, new_zones: list[Zone]) -> int:
        """The city's zones become exactly these (an import is the whole map, not a patch)."""
        store = self._store
        gone = {zone_id for zone_id, zone in store.zones.items() if zone.city_id == city_id}
        for zone_id in gone:
            del store.zones[zone_id]
        for event in store.speeding_events:  # ON DELETE SET NULL
            if event.zone_id in gone:
                event.zone_id = None
        for zone in new_zones:
            polygon = shape(zone.geometry)
            multi = polygon if isinstance(polygon, MultiPolygon) else MultiPolygon([polygon])
            zone_id = uuid.uuid4()
            store.zones[zone_id] = ZoneRow(
                zone_id, city_id, zone.kind, zone.name, zone.max_speed_kph, multi, store.clock()
            )
        return len(new_zones)

    def as_features(self, city_id: str) -> list[dict[str, Any]]:
        zones = sorted(self._of_city(city_id), key=lambda zone: (zone.kind.value, zone.name))
        return [
            {
                "type": "Feature",
                "id": str(zone.id),
                "geometry": jsonb(mapping(zone.geometry)),
                "properties": {
                    "kind": zone.kind.value,
                    "name": zone.name,
                    **({"max_speed_kph": zone.max_speed_kph} if zone.max_speed_kph else {}),
                },
            }
            for zone in zones
        ]

    def at_position(self, city_id: str, lon: float, lat: float) -> tuple[bool, set[ZoneKind]]:
        """Whether the point is inside the service area (true where the city has none), and
        the kinds of the other zones that cover it. Boundaries count as inside."""
        here = Point(lon, lat)
        zones = self._of_city(city_id)
        areas = [zone for zone in zones if zone.kind is ZoneKind.SERVICE_AREA]
        inside = not areas or any(zone.geometry.covers(here) for zone in areas)
        kinds: set[ZoneKind] = {
            zone.kind
            for zone in zones
            if zone.kind is not ZoneKind.SERVICE_AREA and zone.geometry.covers(here)
        }
        return inside, kinds

    def record_speeding(self, rental_id: uuid.UUID, city_id: str, fixes: list[SpeedSample]) -> int:
        """Store the fixes that went faster than a slow zone covering them allows, and those
        inside a no-ride zone (a limit of 0)."""
        store = self._store
        zones = self._of_city(city_id)
        recorded = 0
        for moment in sorted({fix.recorded_at for fix in fixes}):
            fix = next(fix for fix in fixes if fix.recorded_at == moment)  # DISTINCT ON
            here = Point(fix.lon, fix.lat)
            broken = [
                zone
                for zone in zones
                if zone.geometry.covers(here)
                and (
                    (zone.kind is ZoneKind.SLOW and fix.speed_kph > (zone.max_speed_kph or 0.0))
                    or zone.kind is ZoneKind.NO_RIDE
                )
            ]
            if not broken:
                continue
            zone = min(broken, key=lambda zone: zone.max_speed_kph or 0.0)
            if any(
                (event.rental_id, event.recorded_at) == (rental_id, moment)
                for event in store.speeding_events
            ):
                raise IntegrityViolation("speeding_once_per_fix")
            store.speeding_events.append(
                SpeedingRow(
                    store.next_id("speeding_events"),
                    rental_id,
                    zone.id,
                    zone.name,
                    moment,
                    fix.speed_kph,
                    zone.max_speed_kph or 0.0,
                    fix.lon,
                    fix.lat,
                )
            )
            recorded += 1
        return recorded

    def speeding_in(self, city_id: str, since: datetime) -> list[dict[str, Any]]:
        store = self._store
        rows: list[dict[str, Any]] = []
        for event in store.speeding_events:
            rental = store.rentals.get(event.rental_id)
            asset = store.assets.get(rental.rental.asset_id) if rental else None
            if asset is None or asset.asset.city_id != city_id or event.recorded_at < since:
                continue
            rows.append(
                {
                    "rental_id": event.rental_id,
                    "asset_code": asset.asset.code,
                    "zone_name": event.zone_name,
                    "recorded_at": event.recorded_at,
                    "speed_kph": event.speed_kph,
                    "max_speed_kph": event.max_speed_kph,
                    "lon": event.lon,
                    "lat": event.lat,
                }
            )
        rows.sort(key=lambda row: row["recorded_at"], reverse=True)
        return rows[:500]

    def _of_city(self, city_id: str) -> list[ZoneRow]:
        return [zone for zone in self._store.zones.values() if zone.city_id == city_id]
