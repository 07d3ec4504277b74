"""Answers several blueprints share: an amount of money, a price, a rental, a GeoJSON map.

Each is an AnswerModel built from the domain's objects by one function, so a rental looks
the same wherever it is shown and in the OpenAPI document.
"""

import functools
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from rental.api.contract import AnswerModel
from rental.domain.pricing import PricingPlan, Tariff, describe
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.zones import Parking


class Money(AnswerModel):
    amount_minor: int
    currency: str


def money(amount_minor: int | None, currency: str) -> Money | None:
    return None if amount_minor is None else Money(amount_minor=amount_minor, currency=currency)


class Price(AnswerModel):
    """A kind's price in a city, as a rental keeps it from its start."""

    currency: str
    unlock_fee_minor: int
    rate_per_interval_minor: int
    interval_seconds: int
    free_seconds: int
    daily_cap_minor: int | None = Field(description="the time charge of any 24 hours at most")
    reservation_per_minute_minor: int
    out_of_zone_fee_minor: int
    replacement_price_minor: int | None = Field(description="an item kept this long is sold")
    summary: str = Field(description="what the rider reads before unlocking")


@functools.lru_cache(maxsize=1024)
def price(tariff: Tariff) -> Price:
    """Made once per tariff (both are immutable): a nearby search shows twenty vehicles at
    one or two prices, and describing a tariff was an eighth of its request's time."""
    return Price(**asdict(tariff), summary=describe(tariff))


class RentalPrice(Price):
    plan_id: UUID | None


class PricingPlanAnswer(Price):
    plan_id: UUID
    city_id: str
    kind: str
    deposit_minor: int
    deposit_waiver_score: int | None = Field(description="no deposit at this credit score")


def pricing_plan(plan: PricingPlan) -> PricingPlanAnswer:
    return PricingPlanAnswer(
        plan_id=plan.id,
        city_id=plan.city_id,
        kind=plan.kind,
        **price(plan.tariff).model_dump(),
        deposit_minor=plan.deposit_minor,
        deposit_waiver_score=plan.deposit_waiver_score,
    )


class ParkingAnswer(AnswerModel):
    outcome: Parking
    message: str | None
    out_of_zone_fee: Money | None
    position_doubt: str | None = Field(description="why the end position was in doubt, if")


class RentalAnswer(AnswerModel):
    id: UUID
    state: RentalState
    failure_reason: FailureReason | None
    asset_id: UUID
    requested_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    distance_m: float | None = Field(description="metres on the WGS 84 spheroid")
    fare: Money | None
    fare_so_far: Money | None = Field(description="while riding: what ending now would cost")
    parking: ParkingAnswer | None
    late_unlock: bool
    notice: str | None
    price: RentalPrice
    time_zone: str | None = Field(
        description="IANA: the clock of the rental's city, on which riders read its times"
    )


def rental_answer(
    rental: Rental, now: datetime | None = None, time_zone: str | None = None
) -> RentalAnswer:
    """With `now`, a ride under way also shows its fare so far (what ending it now costs,
    before any parking fee)."""
    tariff = rental.tariff
    so_far = None if now is None else money(rental.fare_so_far(now), tariff.currency)
    return RentalAnswer(
        id=rental.id,
        state=rental.state,
        failure_reason=rental.failure_reason,
        asset_id=rental.asset_id,
        requested_at=rental.requested_at,
        started_at=rental.started_at,
        ended_at=rental.ended_at,
        duration_s=rental.duration_seconds,
        distance_m=None if rental.distance_m is None else round(rental.distance_m, 1),
        fare=money(rental.fare_minor, tariff.currency),
        fare_so_far=so_far,
        parking=_parking(rental),
        late_unlock=rental.late_unlock,
        notice=rental.notice,
        price=RentalPrice(plan_id=rental.plan_id, **price(tariff).model_dump()),
        time_zone=time_zone,
    )


def _parking(rental: Rental) -> ParkingAnswer | None:
    if rental.parking is None:
        return None
    return ParkingAnswer(
        outcome=rental.parking,
        message=rental.parking_message,
        out_of_zone_fee=money(rental.out_of_zone_fee_minor, rental.tariff.currency),
        position_doubt=rental.position_doubt,
    )


class Feature(AnswerModel):
    """A GeoJSON Feature (RFC 7946): positions are [lon, lat] in WGS 84."""

    type: Literal["Feature"]
    id: str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(AnswerModel):
    type: Literal["FeatureCollection"]
    features: list[Feature]
