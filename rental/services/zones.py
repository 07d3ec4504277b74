"""Operators draw a city's map of zones; riders and trips read it."""

from datetime import datetime
from typing import Any

from rental.domain.errors import NotFound
from rental.domain.zones import zones_from_geojson
from rental.services.unit_of_work import UnitOfWork


def import_zones(uow: UnitOfWork, city_id: str, document: object) -> int:
    """Replace the city's zones with the FeatureCollection; all or nothing."""
    new_zones = zones_from_geojson(document)
    with uow:
        _require_city(uow, city_id)
        count = uow.zones.replace(city_id, new_zones)
        uow.commit()
    return count


def zones_of(uow: UnitOfWork, city_id: str) -> dict[str, Any]:
    with uow:
        _require_city(uow, city_id)
        features = uow.zones.as_features(city_id)
    return {"type": "FeatureCollection", "features": features}


def speeding_in(uow: UnitOfWork, city_id: str, since: datetime) -> list[dict[str, Any]]:
    with uow:
        _require_city(uow, city_id)
        return uow.zones.speeding_in(city_id, since)


def _require_city(uow: UnitOfWork, city_id: str) -> None:
    if uow.cities.currency_of(city_id) is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
