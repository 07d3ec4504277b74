"""Which payment gateway takes a rider's payment in a city.

An operator picks, per city, the gateways riders may pay through (among those the
platform has configured: the sandbox, Stripe, Alipay, WeChat Pay) and the one used unless
the rider picks another. A city with no choice made offers the platform's default
gateway, as every city did before gateways were chosen per city. A gateway configured
once and removed from the configuration later is no longer offered, although the city
still names it: its orders' refunds still need it (`rental.services.refunds`).
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rental.domain.cities import City
from rental.domain.errors import InvalidInput


@dataclass(frozen=True)
class GatewayOffer:
    """The gateways a rider may pay through, by name, in the order shown; and the default."""

    gateways: tuple[str, ...]
    default: str


def gateway_offer(
    city: City | None, configured: Collection[str], platform_default: str
) -> GatewayOffer:
    """What `city` offers now (None: a payment not tied to a city, e.g. a top-up that
    names none, which the platform's default gateway takes)."""
    chosen = () if city is None else tuple(g for g in city.payment_gateways if g in configured)
    if not chosen:
        return GatewayOffer((platform_default,), platform_default)
    default = city.default_gateway if city and city.default_gateway in chosen else chosen[0]
    return GatewayOffer(chosen, default)


def chosen_gateway(offer: GatewayOffer, requested: str | None) -> str:
    """The gateway a payment goes through: the one the rider asked for, or the default.
    Raises InvalidInput `gateway_not_offered` (field `gateway`) naming one not offered."""
    if requested is None:
        return offer.default
    if requested not in offer.gateways:
        raise InvalidInput(
            f"the gateway {requested} is not offered here; offered: {', '.join(offer.gateways)}",
            "gateway_not_offered",
            "gateway",
        )
    return requested


def checked_choice(
    gateways: Sequence[str], default: str | None, configured: Collection[str]
) -> tuple[tuple[str, ...], str]:
    """An operator's choice for a city: one or more configured gateways, each once, and a
    default among them (None: the first). Raises InvalidInput `gateway_not_configured`
    naming the first unknown one, `default_not_offered`, `invalid_gateways`."""
    if not gateways or len(set(gateways)) != len(gateways):
        raise InvalidInput(
            "gateways is a list of one or more gateway names, each once",
            "invalid_gateways",
            "gateways",
        )
    for name in gateways:
        if name not in configured:
            raise InvalidInput(
                f"the gateway {name} is not configured on this platform; configured: "
                f"{', '.join(sorted(configured))}",
                "gateway_not_configured",
                "gateways",
            )
    chosen = default if default is not None else gateways[0]
    if chosen not in gateways:
        raise InvalidInput(
            f"the default gateway {chosen} is not among those offered",
            "default_not_offered",
            "default",
        )
    return tuple(gateways), chosen
