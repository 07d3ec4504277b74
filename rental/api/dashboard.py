"""The operator's dashboard of a city: rides per hour and per day, utilisation, unlocks,
availability at the morning hotspots, and revenue (`rental.services.dashboard`).

GET /api/v1/ops/dashboard?city_id=demo[&days=14]
"""

from datetime import date, datetime
from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.auth import requires
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityId,
    RequestModel,
    explained,
)
from rental.domain.riders import Role
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
@requires(Role.OPERATOR)
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
