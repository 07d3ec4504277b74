"""Prices: operators publish pricing plans per city and kind; riders get a quote before
unlocking."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Ge, GroupedMetadata, Le
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BeforeValidator, Field, Strict

from rental.api.answers import PricingPlanAnswer, pricing_plan
from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    AssetCode,
    CityId,
    QueryModel,
    RequestModel,
    explained,
    signed_in,
    whole,
)
from rental.api.funnel import app_visit
from rental.domain.fleet import AssetKind
from rental.domain.pricing import PRICE_DEFAULTS, PRICE_LIMITS
from rental.domain.riders import Role
from rental.services import funnel, pricing
from rental.services.commands.money import PlanPrices, PublishPricingPlan
from rental.services.commands.rides import QuoteAsset

PRICING = Tag(name="pricing", description="pricing plans, and a quote before unlocking")
blueprint = APIBlueprint(
    "pricing",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[PRICING],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)


@dataclass(frozen=True)
class PriceRule(GroupedMetadata):
    """One number of a plan: an integer within rental.domain.pricing.PRICE_LIMITS."""

    name: str

    def __iter__(self) -> Iterator[Any]:
        low, high = PRICE_LIMITS[self.name]
        yield Strict()
        yield Ge(low)
        yield Le(high)
        yield explained(f"{self.name} must be an integer from {low} to {high}", "invalid_price")
        yield BeforeValidator(whole)  # last, so that the bounds stay in the document


class Prices(RequestModel):
    """A plan's numbers; those left out get rental.domain.pricing.PRICE_DEFAULTS, and
    null means no cap, never sold off, never waived."""

    unlock_fee_minor: Annotated[int, PriceRule("unlock_fee_minor")] = PRICE_DEFAULTS[
        "unlock_fee_minor"
    ]
    rate_per_interval_minor: Annotated[int, PriceRule("rate_per_interval_minor")]
    interval_seconds: Annotated[int, PriceRule("interval_seconds")]
    free_seconds: Annotated[int, PriceRule("free_seconds")] = PRICE_DEFAULTS["free_seconds"]
    daily_cap_minor: Annotated[int, PriceRule("daily_cap_minor")] | None = None
    reservation_per_minute_minor: Annotated[int, PriceRule("reservation_per_minute_minor")] = (
        PRICE_DEFAULTS["reservation_per_minute_minor"]
    )
    out_of_zone_fee_minor: Annotated[int, PriceRule("out_of_zone_fee_minor")] = PRICE_DEFAULTS[
        "out_of_zone_fee_minor"
    ]
    replacement_price_minor: Annotated[int, PriceRule("replacement_price_minor")] | None = None
    deposit_minor: Annotated[int, PriceRule("deposit_minor")] = PRICE_DEFAULTS["deposit_minor"]
    deposit_waiver_score: Annotated[int, PriceRule("deposit_waiver_score")] | None = None

    def command(self, city_id: str, kind: AssetKind) -> PublishPricingPlan:
        return PublishPricingPlan(city_id, kind, PlanPrices(**self.model_dump()))


class PlanPath(RequestModel):
    city_id: CityId
    kind: AssetKind


@blueprint.put(
    "/ops/pricing-plans/<city_id>/<kind>", responses={201: PricingPlanAnswer, **NOT_FOUND}
)
@signed_in(Role.OPERATOR)
def publish_pricing_plan(path: PlanPath, body: Prices) -> tuple[dict[str, Any], int]:
    """Publish a new price version for a kind in a city; rentals keep the one they began
    with. The currency is the city's."""
    command = body.command(path.city_id, path.kind)
    return pricing_plan(pricing.publish_pricing_plan(platform().uow(), command)).json(), 201


class PlansQuery(QueryModel):
    city_id: CityId


class Plans(AnswerModel):
    plans: list[PricingPlanAnswer]


@blueprint.get("/ops/pricing-plans", responses={200: Plans, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def list_pricing_plans(query: PlansQuery) -> dict[str, Any]:
    """The city's current plan of each kind."""
    plans = pricing.current_pricing_plans(platform().uow(), query.city_id)
    return Plans(plans=[pricing_plan(plan) for plan in plans]).json()


ScannedCode = Annotated[
    AssetCode, explained("qr must be an asset code or a URL ending in /q/<code>", "invalid_qr")
]


class QuotePath(RequestModel):
    code: ScannedCode


class Quote(AnswerModel):
    code: str
    kind: str
    available: bool
    unavailable: list[str] = Field(description="why not, when not available")
    price: PricingPlanAnswer | None
    deposit_due_minor: int = Field(description="the deposit still to pay before riding it")


@blueprint.get("/assets/<code>/quote", responses={200: Quote, **NOT_FOUND, **CONFLICT})
@signed_in(Role.RIDER)
def quote(path: QuotePath) -> dict[str, Any]:
    """The price this rider would pay for the asset now, and whether it can be taken."""
    p = platform()
    command = QuoteAsset(current_user_id(), path.code)
    found = pricing.quote(p.uow(), command, p.now(), p.config.service_policy())
    visit = app_visit()
    if visit is not None:  # the rider funnel: what stops the rider before the scan
        funnel.quote_marked(p.uow(), found, visit, p.now())
    plan = pricing_plan(found.pricing_plan) if found.pricing_plan else None
    return Quote(
        code=found.code,
        kind=found.kind,
        available=found.available,
        unavailable=found.unavailable,
        price=plan,
        deposit_due_minor=found.deposit_due_minor,
    ).json()
