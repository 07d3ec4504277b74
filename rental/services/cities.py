"""Launching, configuring and retiring a city (`rental.domain.cities`). What a city then
needs to take rides is set through its own use cases: zones (`rental.services.zones`),
pricing plans per kind (`rental.services.pricing`), trucks, depot and nightly hour
(`rental.services.rebalancing_fleets`), locks and vehicles (`rental.services.assets`)."""

import logging
from dataclasses import replace
from datetime import datetime

from rental.domain.cities import (
    City,
    checked_center,
    checked_city_name,
    checked_locale,
    checked_time_zone,
    launched_city,
)
from rental.domain.errors import Conflict, NotFound
from rental.services.commands.city import ConfigureCity, LaunchCity
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def launch_city(uow: UnitOfWork, command: LaunchCity) -> City:
    """A new city, running at once (it takes rides once it has priced vehicles). Raises
    InvalidInput for a wrong setting, Conflict `city_exists` for an id taken."""
    city = launched_city(
        command.city_id,
        command.name,
        command.time_zone,
        command.currency,
        command.locale,
        command.center,
    )
    with uow:
        uow.cities.add(city)
        stored = uow.cities.get(city.id)
        uow.commit()
    assert stored is not None
    log.info("city %s launched (%s, %s)", city.id, city.time_zone, city.currency)
    return stored


def configure_city(uow: UnitOfWork, command: ConfigureCity) -> City:
    """The city with the settings given changed. Raises NotFound `city_not_found`,
    InvalidInput for a wrong setting."""
    with uow:
        city = _existing(uow, command.city_id, for_update=True)
        changed = city.configured(
            name=None if command.name is None else checked_city_name(command.name),
            time_zone=None if command.time_zone is None else checked_time_zone(command.time_zone),
            locale=None if command.locale is None else checked_locale(command.locale),
            center=None if command.center is None else checked_center(command.center),
        )
        uow.cities.save(changed)
        uow.commit()
    return changed


def retire_city(uow: UnitOfWork, city_id: str, now: datetime) -> City:
    """The city takes no new rides, holds or vehicles, and leaves GBFS; MDS still serves
    its history. Retiring a retired city changes nothing. Raises NotFound
    `city_not_found`, Conflict `rides_under_way` while a ride in the city is open (the
    riders on the street end theirs first)."""
    with uow:
        city = _existing(uow, city_id, for_update=True)
        if city.is_retired:
            return city
        open_rides = uow.cities.open_rides(city_id)
        if open_rides:
            raise Conflict(
                f"{open_rides} ride(s) in {city_id} are under way: retire it once they end",
                "rides_under_way",
            )
        retired = replace(city, retired_at=now)
        uow.cities.save(retired)
        uow.commit()
    log.info("city %s retired", city_id)
    return retired


def reopen_city(uow: UnitOfWork, city_id: str) -> City:
    """A retired city runs again. Raises NotFound `city_not_found`."""
    with uow:
        city = _existing(uow, city_id, for_update=True)
        reopened = replace(city, retired_at=None)
        uow.cities.save(reopened)
        uow.commit()
    return reopened


def city_settings(uow: UnitOfWork, city_id: str) -> City:
    """Raises NotFound `city_not_found`."""
    with uow:
        return _existing(uow, city_id)


def all_cities(uow: UnitOfWork) -> list[City]:
    """Every city, retired ones too, by id."""
    with uow:
        return uow.cities.all()


def running_cities(uow: UnitOfWork) -> list[City]:
    """The cities riders can ride in, by id."""
    return [city for city in all_cities(uow) if not city.is_retired]


def check_known(uow: UnitOfWork, city_id: str | None) -> None:
    """For reads of one city (None: every city), inside the caller's unit of work: a city
    nobody launched (a typo, say) is NotFound `city_not_found`, never an empty answer that
    reads as a city with nothing in it. Retired cities are known."""
    if city_id is not None:
        _existing(uow, city_id)


def _existing(uow: UnitOfWork, city_id: str, *, for_update: bool = False) -> City:
    city = uow.cities.get(city_id, for_update=for_update)
    if city is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
    return city
