"""Operators draw a city's map of zones; riders and trips read it."""

import uuid
from typing import Any

from rental.domain.errors import NotFound
from rental.domain.trace import SpeedSample
from rental.domain.zones import SPEED_LIMITED, speeding, zones_to_geojson
from rental.services.commands.city import FindSpeeding, ImportZones
from rental.services.read_models import SpeedingRecord
from rental.services.unit_of_work import UnitOfWork


def import_zones(uow: UnitOfWork, command: ImportZones) -> int:
    """Replace the city's zones with the imported map; all or nothing."""
    with uow:
        _require_city(uow, command.city_id)
        count = uow.zones.replace(command.city_id, command.zones)
        uow.commit()
    return count


def zones_of(uow: UnitOfWork, city_id: str) -> dict[str, Any]:
    """The city's map as the GeoJSON FeatureCollection an import reads back."""
    with uow:
        _require_city(uow, city_id)
        return zones_to_geojson(uow.zones.all_in(city_id))


def record_speeding(
    uow: UnitOfWork, rental_id: uuid.UUID, city_id: str, samples: list[SpeedSample]
) -> int:
    """Inside the caller's transaction (a trip's end): keep the samples of the trip that
    broke a zone's speed limit; returns how many."""
    positions = [(sample.lon, sample.lat) for sample in samples]
    covering = uow.zones.speed_zones_at(city_id, positions, SPEED_LIMITED)
    return uow.zones.add_speeding(rental_id, speeding(samples, covering))


def speeding_in(uow: UnitOfWork, query: FindSpeeding) -> list[SpeedingRecord]:
    with uow:
        _require_city(uow, query.city_id)
        return uow.zones.speeding_in(query.city_id, query.since)


def _require_city(uow: UnitOfWork, city_id: str) -> None:
    if uow.cities.currency_of(city_id) is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
