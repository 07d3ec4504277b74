"""Operators' CSV exports, streamed as they are read (`rental.services.exports`).

GET /api/v1/ops/exports/rides.csv?city_id=demo[&since][&until]   rides asked for then
GET /api/v1/ops/exports/fleet.csv?city_id=demo                    the fleet as it stands
GET /api/v1/ops/exports/books.csv[?since][&until]                 every posting booked then

Times are ISO 8601 with an offset; `since` defaults to 30 days before `until`, `until` to
now; a window may span at most 366 days. Money in minor units. Text that a spreadsheet
would take for a formula starts with an apostrophe.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Self

from flask import Response, stream_with_context
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, model_validator

from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    MOMENT_RULE,
    NOT_FOUND,
    SIGNED_IN,
    CityId,
    Moment,
    RequestModel,
    explained,
    signed_in,
)
from rental.api.ops import Absent
from rental.domain.errors import InvalidInput
from rental.domain.riders import Role
from rental.services import exports
from rental.services.cities import city_settings

EXPORTS = Tag(name="exports", description="operators: rides, fleet and books as CSV")
blueprint = APIBlueprint(
    "exports",
    __name__,
    url_prefix="/api/v1/ops/exports",
    abp_tags=[EXPORTS],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)
CSV = {"description": "text/csv; header=present (RFC 4180), streamed"}
TimeParam = Annotated[Moment, explained(MOMENT_RULE, "invalid_time")]


class Window(RequestModel):
    since: TimeParam | Absent = Field(
        None, description="from (inclusive); default: until - 30 days"
    )
    until: TimeParam | Absent = Field(None, description="to (exclusive); default: now")

    @model_validator(mode="after")
    def _short_enough(self) -> Self:
        if self.since and self.until and not self.since < self.until <= self.since + MAX_WINDOW:
            raise InvalidInput(
                "since must be before until, at most 366 days", "invalid_window", "since"
            )
        return self

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        until = self.until or now
        since = self.since or until - DEFAULT_WINDOW
        if not since < until <= since + MAX_WINDOW:
            raise InvalidInput(
                "since must be before until, at most 366 days", "invalid_window", "since"
            )
        return since, until


class CityWindow(Window):
    city_id: CityId


class CityQuery(RequestModel):
    city_id: CityId


@blueprint.get("/rides.csv", responses={200: CSV, **NOT_FOUND}, validate_response=False)
@signed_in(Role.OPERATOR)
def rides_csv(query: CityWindow) -> Response:
    """The city's rides asked for in the window, oldest first: id, asset, rider, state,
    failure, times, metres, fare (minor units), currency, parking. 404 for an unknown city."""
    p = platform()
    city_settings(p.uow(), query.city_id)  # an unknown city is a 404, not an empty file
    since, until = query.bounds(p.now())
    return _csv(
        f"rides-{query.city_id}.csv",
        exports.ride_rows(p.lagging_uow(), query.city_id, since, until),
    )


@blueprint.get("/fleet.csv", responses={200: CSV, **NOT_FOUND}, validate_response=False)
@signed_in(Role.OPERATOR)
def fleet_csv(query: CityQuery) -> Response:
    """The city's assets with their device's state and why riders cannot take each (the
    reasons, space-separated). 404 for an unknown city."""
    p = platform()
    city_settings(p.uow(), query.city_id)
    rows = exports.fleet_rows(p.lagging_uow(), query.city_id, p.now(), p.config.service_policy())
    return _csv(f"fleet-{query.city_id}.csv", rows)


@blueprint.get("/books.csv", responses={200: CSV}, validate_response=False)
@signed_in(Role.OPERATOR)
def books_csv(query: Window) -> Response:
    """Every posting of the transactions booked in the window, by transaction: its id,
    time, kind and reference, the account (kind, currency, owner) and the amount in minor
    units (positive: debit). A transaction's postings sum to zero."""
    p = platform()
    since, until = query.bounds(p.now())
    return _csv("books.csv", exports.book_rows(p.lagging_uow(), since, until))


def _csv(filename: str, lines: Iterator[str]) -> Response:
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
