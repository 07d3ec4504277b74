"""Cities and their zones in memory; shapely answers what PostGIS does
(`rental.services.repositories.city`)."""

import uuid
from collections.abc import Collection, Set
from dataclasses import replace
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, Point, mapping, shape

from rental.domain.cities import City
from rental.domain.errors import Conflict
from rental.domain.rentals import RentalState
from rental.domain.zones import Speeding, SpeedZone, Zone, ZoneKind, ZonesAt
from rental.services.read_models import SpeedingRecord
from tests.unit.fakes.store import (
    IntegrityViolation,
    Repository,
    SpeedingRow,
    ZoneRow,
    jsonb,
)

# ST_AsGeoJSON's default precision: coordinates come back with at most 9 decimals.
GEOJSON_DECIMALS = 9


class FakeCityRepository(Repository):
    def add(self, city: City) -> None:
        if city.id in self._store.cities:
            raise Conflict(f"a city {city.id} exists already", "city_exists", "id")
        self._store.cities[city.id] = replace(
            city, launched_at=city.launched_at or self._store.clock()
        )

    def get(self, city_id: str, *, for_update: bool = False) -> City | None:
        return self._store.cities.get(city_id)

    def all(self) -> list[City]:
        return [self._store.cities[city_id] for city_id in sorted(self._store.cities)]

    def save(self, city: City) -> None:
        stored = self._store.cities[city.id]
        self._store.cities[city.id] = replace(
            city, currency=stored.currency, launched_at=stored.launched_at
        )

    def open_rides(self, city_id: str) -> int:
        store = self._store
        return sum(
            1
            for row in store.rentals.values()
            if row.rental.state in (RentalState.UNLOCKING, RentalState.ACTIVE)
            and store.assets[row.rental.asset_id].asset.city_id == city_id
        )

    def time_zones_of_assets(self, asset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        store = self._store
        cities = {asset_id: store.assets[asset_id].asset.city_id for asset_id in asset_ids}
        return {asset_id: store.cities[city].time_zone for asset_id, city in cities.items()}

    def currency_of(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.currency if city else None

    def timezone_of(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.time_zone if city else None


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

    def all_in(self, city_id: str) -> list[Zone]:
        """The city's zones, stored (with their ids), by kind and name. Each comes back a
        MultiPolygon, as stored, in GeoJSON as ST_AsGeoJSON writes it."""
        zones = sorted(self._of_city(city_id), key=lambda zone: (zone.kind.value, zone.name))
        return [
            Zone(zone.kind, zone.name, _geojson(zone.geometry), zone.max_speed_kph, zone.id)
            for zone in zones
        ]

    def at_position(self, city_id: str, lon: float, lat: float) -> ZonesAt:
        """The kinds of the zones that cover the point (boundaries count as inside), and
        whether the city has a service area at all."""
        here = Point(lon, lat)
        zones = self._of_city(city_id)
        return ZonesAt(
            frozenset(zone.kind for zone in zones if zone.geometry.covers(here)),
            any(zone.kind is ZoneKind.SERVICE_AREA for zone in zones),
        )

    def speed_zones_at(
        self, city_id: str, positions: list[tuple[float, float]], kinds: Set[ZoneKind]
    ) -> list[list[SpeedZone]]:
        """For each (lon, lat), the city's zones of these kinds that cover it."""
        zones = [zone for zone in self._of_city(city_id) if zone.kind in kinds]
        return [
            [
                SpeedZone(zone.id, zone.name, zone.kind, zone.max_speed_kph)
                for zone in zones
                if zone.geometry.covers(Point(lon, lat))
            ]
            for lon, lat in positions
        ]

    def add_speeding(self, rental_id: uuid.UUID, found: list[Speeding]) -> int:
        store = self._store
        for speeding in found:
            if any(
                (event.rental_id, event.recorded_at) == (rental_id, speeding.recorded_at)
                for event in store.speeding_events
            ):
                raise IntegrityViolation("speeding_once_per_fix")
            store.speeding_events.append(
                SpeedingRow(
                    store.next_id("speeding_events"),
                    rental_id,
                    speeding.zone_id,
                    speeding.zone_name,
                    speeding.recorded_at,
                    speeding.speed_kph,
                    speeding.max_speed_kph,
                    speeding.lon,
                    speeding.lat,
                )
            )
        return len(found)

    def speeding_in(self, city_id: str, since: datetime) -> list[SpeedingRecord]:
        """Newest first, at most 500."""
        store = self._store
        found = []
        for event in store.speeding_events:
            rental = store.rentals.get(event.rental_id)
            asset = store.assets.get(rental.rental.asset_id) if rental else None
            if asset is None or asset.asset.city_id != city_id or event.recorded_at < since:
                continue
            found.append(
                SpeedingRecord(
                    event.rental_id,
                    asset.asset.code,
                    event.zone_name,
                    event.recorded_at,
                    event.speed_kph,
                    event.max_speed_kph,
                    event.lon,
                    event.lat,
                )
            )
        found.sort(key=lambda record: record.recorded_at, reverse=True)
        return found[:500]

    def _of_city(self, city_id: str) -> list[ZoneRow]:
        return [zone for zone in self._store.zones.values() if zone.city_id == city_id]


def _geojson(geometry: MultiPolygon) -> dict[str, Any]:
    document: dict[str, Any] = jsonb(mapping(geometry))
    document["coordinates"] = _rounded(document["coordinates"])
    return document


def _rounded(coordinates: Any) -> Any:
    if isinstance(coordinates, list):
        return [_rounded(part) for part in coordinates]
    return round(coordinates, GEOJSON_DECIMALS)
