"""The operator's dashboard of a city: rides per hour and per day, utilisation, unlocks,
availability at the morning hotspots, and revenue (`rental.services.dashboard`); and the
one list of what needs an operator (`rental.services.attention`), polled with an ETag.

GET /api/v1/ops/dashboard?city_id=demo[&days=14]
GET /api/v1/ops/attention?city_id=demo            304 for an If-None-Match still current
"""

from datetime import date, datetime
from typing import Annotated, Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.common import NOT_MODIFIED, platform, unless_unchanged
from rental.api.contract import (
    BEARER,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityId,
    RequestModel,
    explained,
    signed_in,
)
from rental.domain.riders import Role
from rental.services.attention import needing_attention
from rental.services.attention_items import Attention, AttentionKind
from rental.services.dashboard import MAX_DAYS, Dashboard, dashboard

DASHBOARD = Tag(name="dashboard", description="operators: how a city's fleet is doing")
blueprint = APIBlueprint(
    "dashboard",
    __name__,
    url_prefix="/api/v1/ops",
    abp_tags=[DASHBOARD],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)


class DashboardQuery(RequestModel):
    city_id: CityId
    days: Annotated[
        int,
        Field(ge=1, le=MAX_DAYS, description="how many days, today (the city's) last"),
        explained(f"days must be between 1 and {MAX_DAYS}", "invalid_days"),
    ] = 14


class HourAnswer(AnswerModel):
    hour: datetime = Field(description="the hour's start, with the city's UTC offset")
    rides: int


class DayAnswer(AnswerModel):
    day: date = Field(description="the city's calendar day")
    rides: int = Field(description="rides that started on it")
    vehicles: int = Field(description="vehicles (bikes, e-bikes) registered by its end")
    rides_per_vehicle: float = Field(description="utilisation: rides per vehicle that day")
    revenue_minor: int = Field(description="platform revenue booked that day, minor units")


class UnlockAnswer(AnswerModel):
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / (succeeded + failed); null: none")
    median_ms: int | None = Field(description="request to the lock's confirmation")
    p95_ms: int | None


class HotspotAnswer(AnswerModel):
    name: str
    lon: float
    lat: float
    available: int = Field(description="vehicles riders can take there now")
    morning_rides: float = Field(description="mean rides started there 06:00-10:00 a day")


class DashboardAnswer(AnswerModel):
    city_id: str
    time_zone: str
    currency: str
    hours: list[HourAnswer] = Field(description="the last 24 hours, oldest first")
    days: list[DayAnswer] = Field(description="oldest first, today last")
    unlocks: UnlockAnswer = Field(description="unlocks asked for in the window")
    hotspots: list[HotspotAnswer] = Field(description="parking hotspots, fewest available first")
    revenue_minor: int = Field(description="the window's revenue, minor units of `currency`")


@blueprint.get("/dashboard", responses={200: DashboardAnswer, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def city_dashboard(query: DashboardQuery) -> dict[str, Any]:
    """A city's figures over the last `days` days (its own clock), computed by the
    database: rides per hour (last 24 h) and per day, utilisation, unlock success and
    latency, vehicles available at each parking hotspot now against its morning rides,
    and revenue from the ledger (fares and holds, less dispute refunds). 404 for an
    unknown city."""
    p = platform()
    figures = dashboard(
        p.lagging_uow(), query.city_id, query.days, p.now(), p.config.service_policy()
    )
    return _answer(figures).json()


def _answer(figures: Dashboard) -> DashboardAnswer:
    unlocks = figures.unlocks
    return DashboardAnswer(
        city_id=figures.city_id,
        time_zone=figures.time_zone,
        currency=figures.currency,
        hours=[HourAnswer(hour=h.hour, rides=h.rides) for h in figures.hours],
        days=[
            DayAnswer(
                day=d.day,
                rides=d.rides,
                vehicles=d.vehicles,
                rides_per_vehicle=round(d.rides_per_vehicle, 3),
                revenue_minor=d.revenue_minor,
            )
            for d in figures.days
        ],
        unlocks=UnlockAnswer(
            succeeded=unlocks.succeeded,
            failed=unlocks.failed,
            success_rate=unlocks.success_rate,
            median_ms=unlocks.median_ms,
            p95_ms=unlocks.p95_ms,
        ),
        hotspots=[
            HotspotAnswer(
                name=h.name,
                lon=h.lon,
                lat=h.lat,
                available=h.available,
                morning_rides=h.morning_rides,
            )
            for h in figures.hotspots
        ],
        revenue_minor=figures.revenue_minor,
    )


class AttentionQuery(RequestModel):
    city_id: CityId


class AttentionAnswer(AnswerModel):
    kind: AttentionKind
    subject: str = Field(description="an asset's code, a lock id, a dead letter's or order's id")
    detail: str
    since: datetime | None = Field(description="when it began, as far as the platform knows")
    city_id: str | None = Field(description="null: not tied to one city")
    lon: float | None = Field(description="where the vehicle was last heard, WGS 84")
    lat: float | None


class AttentionList(AnswerModel):
    items: list[AttentionAnswer] = Field(description="most urgent kind first, oldest first")


@blueprint.get(
    "/attention", responses={200: AttentionList, 304: NOT_MODIFIED}, validate_response=False
)
@signed_in(Role.OPERATOR)
def attention(query: AttentionQuery) -> Response:
    """What needs an operator in a city, in one list, most urgent kind first: latches open
    without a rental, locks offline or silent, lock messages that could not be processed
    (dead letters, every city's), payments and refunds the gateway left hanging (every
    city's), low batteries, items in the wrong cabinet.

    Answered with an ETag: poll with If-None-Match for a 304 with no body until something
    changes. Thresholds: the city's service policy (LOW_BATTERY_PCT, LOCK_SILENCE_SECONDS);
    a payment pending 30 min past its expiry, a refund processing for an hour."""
    p = platform()
    found = needing_attention(p.lagging_uow(), query.city_id, p.now(), p.config.service_policy())
    return unless_unchanged(AttentionList(items=[_attention(item) for item in found]).json())


def _attention(item: Attention) -> AttentionAnswer:
    return AttentionAnswer(
        kind=item.kind,
        subject=item.subject,
        detail=item.detail,
        since=item.since,
        city_id=item.city_id,
        lon=item.lon,
        lat=item.lat,
    )
