"""Operators set prices; riders see them before unlocking."""

from dataclasses import dataclass
from typing import Any

from rental.adapters.db import UnitOfWork
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.fleet import AssetKind, asset_code_from_qr
from rental.domain.pricing import PricingPlan, Tariff

PRICE_FIELDS = {
    "unlock_fee_minor": (0, 100_000),
    "rate_per_interval_minor": (0, 100_000),
    "interval_seconds": (60, 24 * 3600),
    "free_seconds": (0, 24 * 3600),
    "daily_cap_minor": (0, 1_000_000),
}


def tariff_from_request(body: dict[str, Any], currency: str) -> Tariff:
    values: dict[str, int | None] = {}
    for name, (low, high) in PRICE_FIELDS.items():
        value = body.get(name, 0 if name == "free_seconds" else None)
        if value is None and name == "daily_cap_minor":
            values[name] = None
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(f"{name} must be an integer from {low} to {high}", "invalid_price")
        values[name] = value
    return Tariff(currency=currency, **values)  # type: ignore[arg-type]


def publish_plan(uow: UnitOfWork, city_id: str, kind: str, body: dict[str, Any]) -> PricingPlan:
    try:
        asset_kind = AssetKind(kind)
    except ValueError:
        raise NotFound(f"no asset kind {kind}", "kind_not_found") from None
    with uow:
        currency = uow.cities.currency_of(city_id)
        if currency is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        plan = uow.pricing_plans.publish(
            city_id, asset_kind.value, tariff_from_request(body, currency)
        )
        uow.commit()
    return plan


def current_plans(uow: UnitOfWork, city_id: str) -> list[PricingPlan]:
    with uow:
        if uow.cities.currency_of(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        return uow.pricing_plans.current(city_id)


@dataclass(frozen=True)
class Quote:
    code: str
    kind: str
    available: bool
    plan: PricingPlan | None


def quote(uow: UnitOfWork, qr: str) -> Quote:
    """The price a rider would pay for this asset now, and whether it can be taken."""
    code = asset_code_from_qr(qr)
    with uow:
        target = uow.assets.for_scan(code)
    if target is None:
        raise NotFound(f"no asset with code {code}", "asset_not_found")
    available = (
        target.asset.in_service
        and target.lock.online
        and not target.taken
        and target.plan is not None
    )
    return Quote(code, target.asset.kind.value, available, target.plan)
