"""The payment gateways each city offers (`rental.domain.payment_choice`): operators set
them; a rider's top-up or deposit goes through the one asked for, if the city offers it,
or the city's default. `configured` is always the names of the gateways the platform has
(`rental.bootstrap.Platform.payment_gateways`)."""

import logging
from collections.abc import Collection
from dataclasses import replace

from rental.domain.cities import City
from rental.domain.errors import NotFound
from rental.domain.payment_choice import (
    GatewayOffer,
    checked_choice,
    chosen_gateway,
    gateway_offer,
)
from rental.services.commands.city import OfferGateways
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def offer_gateways(uow: UnitOfWork, command: OfferGateways, configured: Collection[str]) -> City:
    """The city offers exactly `command.gateways`. Raises NotFound `city_not_found`,
    InvalidInput `invalid_gateways`, `gateway_not_configured`, `default_not_offered`."""
    gateways, default = checked_choice(command.gateways, command.default, configured)
    with uow:
        city = _city(uow, command.city_id, for_update=True)
        changed = replace(city, payment_gateways=gateways, default_gateway=default)
        uow.cities.save(changed)
        uow.commit()
    log.info("city %s offers %s (default %s)", city.id, ", ".join(gateways), default)
    return changed


def city_offer(
    uow: UnitOfWork, city_id: str, configured: Collection[str], platform_default: str
) -> GatewayOffer:
    """What the city offers riders now. Raises NotFound `city_not_found`."""
    with uow:
        city = _city(uow, city_id)
    return gateway_offer(city, configured, platform_default)


def payment_gateway(
    uow: UnitOfWork,
    city_id: str | None,
    requested: str | None,
    configured: Collection[str],
    platform_default: str,
) -> str:
    """The name of the gateway a rider's payment goes through: `requested` when the city
    offers it, else the city's default; with no city (or one the platform does not know:
    the use case then refuses the payment in its own order, after the idempotency key),
    the platform's default. Raises InvalidInput `gateway_not_offered`."""
    city = None
    if city_id is not None:
        with uow:
            city = uow.cities.get(city_id)
    return chosen_gateway(gateway_offer(city, configured, platform_default), requested)


def _city(uow: UnitOfWork, city_id: str, *, for_update: bool = False) -> City:
    city = uow.cities.get(city_id, for_update=for_update)
    if city is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
    return city
