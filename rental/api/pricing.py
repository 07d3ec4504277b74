"""Prices: operators publish pricing plans per city and kind; riders get a quote before
unlocking."""

from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, requires
from rental.api.common import platform, tariff_view
from rental.api.parsing import json_body, required_query
from rental.domain.errors import NotFound
from rental.domain.fleet import AssetKind, asset_code_from_qr
from rental.domain.pricing import PRICE_DEFAULTS, PricingPlan, checked_price
from rental.domain.riders import Role
from rental.services import pricing
from rental.services.commands.money import PlanPrices, PublishPricingPlan
from rental.services.commands.rides import QuoteAsset

blueprint = Blueprint("pricing", __name__, url_prefix="/api/v1")


@blueprint.put("/ops/pricing-plans/<city_id>/<kind>")
@requires(Role.OPERATOR)
def publish_pricing_plan(city_id: str, kind: str) -> tuple[dict[str, Any], int]:
    body = json_body()
    try:
        asset_kind = AssetKind(kind)
    except ValueError:
        raise NotFound(f"no asset kind {kind}", "kind_not_found") from None
    command = PublishPricingPlan(city_id, asset_kind, _prices(body))
    return pricing_plan_view(pricing.publish_pricing_plan(platform().uow(), command)), 201


def _prices(body: dict[str, Any]) -> PlanPrices:
    """Each number checked in the order of rental.domain.pricing.PRICE_LIMITS: the first
    fault is the one a client is told about."""

    def price(name: str) -> int | None:
        return checked_price(name, body.get(name, PRICE_DEFAULTS.get(name)))

    def required(name: str) -> int:
        value = price(name)
        assert value is not None  # only the nullable prices may be null
        return value

    return PlanPrices(
        unlock_fee_minor=required("unlock_fee_minor"),
        rate_per_interval_minor=required("rate_per_interval_minor"),
        interval_seconds=required("interval_seconds"),
        free_seconds=required("free_seconds"),
        daily_cap_minor=price("daily_cap_minor"),
        reservation_per_minute_minor=required("reservation_per_minute_minor"),
        out_of_zone_fee_minor=required("out_of_zone_fee_minor"),
        replacement_price_minor=price("replacement_price_minor"),
        deposit_minor=required("deposit_minor"),
        deposit_waiver_score=price("deposit_waiver_score"),
    )


@blueprint.get("/ops/pricing-plans")
@requires(Role.OPERATOR)
def list_pricing_plans() -> dict[str, Any]:
    city_id = required_query("city_id")
    plans = pricing.current_pricing_plans(platform().uow(), city_id)
    return {"plans": [pricing_plan_view(plan) for plan in plans]}


@blueprint.get("/assets/<code>/quote")
@requires(Role.RIDER)
def quote(code: str) -> dict[str, Any]:
    p = platform()
    command = QuoteAsset(current_user_id(), asset_code_from_qr(code))
    found = pricing.quote(p.uow(), command, p.now(), p.config.service_policy())
    return {
        "code": found.code,
        "kind": found.kind,
        "available": found.available,
        "unavailable": found.unavailable,
        "price": pricing_plan_view(found.pricing_plan) if found.pricing_plan else None,
        "deposit_due_minor": found.deposit_due_minor,
    }


def pricing_plan_view(plan: PricingPlan) -> dict[str, Any]:
    return {
        "plan_id": str(plan.id),
        "city_id": plan.city_id,
        "kind": plan.kind,
        **tariff_view(plan.tariff),
        "deposit_minor": plan.deposit_minor,
        "deposit_waiver_score": plan.deposit_waiver_score,
    }
