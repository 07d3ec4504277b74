"""Operators tell the nightly rebalancing about a city's trucks: the depot and the bikes
waiting there, each truck's capacity and shift, the speed they make through the city at
night, when the nightly run starts (local time), how long its search may take, and the
road-routing service to ask for distances, if they run one."""

from rental.domain.errors import NotFound
from rental.domain.rebalancing import TruckFleet
from rental.services.rebalancing_commands import ConfigureFleet
from rental.services.unit_of_work import UnitOfWork


def configure(uow: UnitOfWork, command: ConfigureFleet) -> TruckFleet:
    fleet = command.fleet
    with uow:
        if uow.rebalancing.timezone(fleet.city_id) is None:
            raise NotFound(f"no city {fleet.city_id}", "city_not_found")
        uow.rebalancing.save_fleet(fleet)
        uow.commit()
    return fleet


def fleet_of(uow: UnitOfWork, city_id: str) -> TruckFleet:
    with uow:
        fleet = uow.rebalancing.fleet(city_id)
    if fleet is None:
        raise NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")
    return fleet
