"""Prices: operators publish plans per city and kind; riders get a quote before unlocking."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import json_body, platform, tariff_view
from rental.domain.errors import InvalidInput
from rental.domain.pricing import PricingPlan
from rental.domain.riders import Role
from rental.services import pricing

blueprint = Blueprint("pricing", __name__, url_prefix="/api/v1")


@blueprint.put("/ops/pricing-plans/<city_id>/<kind>")
@requires(Role.OPERATOR)
def publish_plan(city_id: str, kind: str) -> tuple[dict[str, Any], int]:
    plan = pricing.publish_plan(platform().uow(), city_id, kind, json_body())
    return plan_view(plan), 201


@blueprint.get("/ops/pricing-plans")
@requires(Role.OPERATOR)
def list_plans() -> dict[str, Any]:
    city_id = request.args.get("city_id")
    if not city_id:
        raise InvalidInput("city_id is required", "invalid_query")
    return {"plans": [plan_view(plan) for plan in pricing.current_plans(platform().uow(), city_id)]}


@blueprint.get("/assets/<code>/quote")
@requires(Role.RIDER)
def quote(code: str) -> dict[str, Any]:
    p = platform()
    found = pricing.quote(p.uow(), code, current_user_id(), p.now(), p.config.service_policy())
    return {
        "code": found.code,
        "kind": found.kind,
        "available": found.available,
        "unavailable": found.unavailable,
        "price": plan_view(found.plan) if found.plan else None,
        "deposit_due_minor": found.deposit_due_minor,
    }


def plan_view(plan: PricingPlan) -> dict[str, Any]:
    return {
        "plan_id": str(plan.id),
        "city_id": plan.city_id,
        "kind": plan.kind,
        **tariff_view(plan.tariff),
        "deposit_minor": plan.deposit_minor,
        "deposit_waiver_score": plan.deposit_waiver_score,
    }
