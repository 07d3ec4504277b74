"""Riders look for the nearest vehicles they can take now."""

from datetime import datetime

from rental.domain.fleet import ServicePolicy
from rental.services.commands.assets import SearchNearby
from rental.services.read_models import NearbyVehicle
from rental.services.unit_of_work import UnitOfWork

MAX_RADIUS_M = 5000
MAX_RESULTS = 100


def nearby(
    uow: UnitOfWork, search: SearchNearby, now: datetime, policy: ServicePolicy
) -> list[NearbyVehicle]:
    with uow:
        return uow.vehicles.nearby(
            search.lon, search.lat, search.radius_m, search.kinds, search.limit, now, policy
        )
