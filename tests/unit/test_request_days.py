"""Days and times in requests: plain, bounded, and told by the name the client sent."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import pytest
from pydantic import Field, ValidationError

from rental.api.contract import (
    FIRST_DAY,
    LAST_DAY,
    Absent,
    Day,
    IsoTime,
    Moment,
    QueryModel,
    RequestModel,
    explained,
)
from rental.api.errors import validation_failed
from rental.domain.errors import InvalidInput


class DaysProbe(QueryModel):
    first_day: Day | Absent = None
    last: Annotated[Day, explained("a day", "invalid_days")] | Absent = Field(None, alias="to")
    since: IsoTime | Absent = None
    until: Moment | Absent = None


class BodyProbe(RequestModel):
    currency: str = "CNY"


def refusal(model: type[RequestModel], data: dict[str, object]) -> InvalidInput:
    """The 400 that the API answers for `data`, as rental.api.errors makes it."""
    with pytest.raises(ValidationError) as failed:
        model.model_validate(data)
    with pytest.raises(InvalidInput) as told:
        validation_failed(failed.value)
    return told.value


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",
        "0001-01-03",
        "9999-12-31",
        "1999-12-31",
        "2101-01-01",
        "2026-11-20T00:00:00",
        "2026-11-20 00:00",
        "20261120",
        "2026-02-30",
        "yesterday",
        "",
    ],
)
def test_a_day_outside_the_bounds_or_not_a_plain_day_is_refused_by_its_name(text):
    told = refusal(DaysProbe, {"first_day": text})
    assert (told.code, told.field) == ("invalid_first_day", "first_day")
    assert "YYYY-MM-DD" in told.message
    told = refusal(DaysProbe, {"to": text})
    assert (told.code, told.field) == ("invalid_days", "to")


def test_the_bounds_days_are_taken_and_a_day_either_side_of_them_reckons():
    probe = DaysProbe.model_validate({"first_day": "2000-01-01", "to": "2100-12-31"})
    assert (probe.first_day, probe.last) == (FIRST_DAY, LAST_DAY)
    assert FIRST_DAY - timedelta(days=1) < FIRST_DAY < LAST_DAY < LAST_DAY + timedelta(days=1)
    east, west = timedelta(hours=14), timedelta(hours=-12)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(LAST_DAY, datetime.max.time(), tzinfo=UTC)
    assert start - east < start + west and end - east < end - west  # no OverflowError


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:00:00-14:00",
        "1700000000",
        "now",
    ],
)
def test_a_time_outside_the_bounds_is_refused_by_its_name(text):
    for name in ("since", "until"):
        told = refusal(DaysProbe, {name: text})
        assert (told.code, told.field) == (f"invalid_{name}", name)
        assert "ISO 8601" in told.message


def test_times_inside_the_bounds_are_aware_and_a_moment_needs_its_offset():
    probe = DaysProbe.model_validate(
        {"since": "2000-01-01T00:00:00", "until": "2100-12-31T23:59:59Z"}
    )
    assert probe.since == datetime(2000, 1, 1, tzinfo=UTC)
    assert probe.until == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    told = refusal(DaysProbe, {"until": "2026-11-30T08:00:00"})
    assert (told.code, told.field) == ("invalid_until", "until")
    assert "offset" in told.message
    assert DaysProbe.model_validate({"first_day": date(2026, 11, 30)}).first_day == date(
        2026, 11, 30
    )


def test_a_field_the_request_does_not_have_is_named_as_itself():
    told = refusal(BodyProbe, {"currency": "CNY", "colour": "red"})
    assert (told.code, told.field) == ("unknown_field", "colour")
    assert "colour" in told.message
