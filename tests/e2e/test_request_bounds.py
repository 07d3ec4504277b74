"""Days and times that requests name are plain, and bounded to 2000-01-01..2100-12-31: one
outside, or at the calendar's very ends, is a 400 naming the parameter as the client
sent it, never a 500 from arithmetic past year 1 or 9999; one at the bounds is answered."""

from urllib.parse import quote

import pytest

from tests.helpers import CITY, make_city

UNMET = f"/api/v1/ops/unmet-demand?city_id={CITY}"
FUNNEL = f"/api/v1/ops/funnel?city_id={CITY}"
RIDES = f"/api/v1/ops/exports/rides.csv?city_id={CITY}"
BOOKS = "/api/v1/ops/exports/books.csv?"
SPEEDING = f"/api/v1/ops/speeding?city_id={CITY}"
RENTALS = "/api/v1/rentals?"
POSTINGS = "/api/v1/wallet/transactions?"

# (the endpoint, its parameters taking a day; who asks)
DAY_PARAMETERS = [
    (UNMET, "first_day", "operator"),
    (UNMET, "last_day", "operator"),
    (FUNNEL, "from", "operator"),
    (FUNNEL, "to", "operator"),
]
TIME_PARAMETERS = [
    (RIDES, "since", "operator"),
    (RIDES, "until", "operator"),
    (BOOKS, "since", "operator"),
    (BOOKS, "until", "operator"),
    (SPEEDING, "since", "operator"),
    (RENTALS, "before", "rider"),
    (POSTINGS, "before", "rider"),
]
EXTREME_DAYS = [
    "0001-01-01",
    "0001-01-03",
    "9999-12-30",
    "9999-12-31",
    "1999-12-31",
    "2101-01-01",
    "2026-11-20T00:00:00",
    "2026-02-30",
]
EXTREME_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-06-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
]


def asking(system, who):
    make_city(system.platform)
    return system.operator() if who == "operator" else system.rider()


def refused_naming(answer, field):
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["field"] == field, error
    assert error["code"].startswith("invalid_"), error


@pytest.mark.parametrize("value", EXTREME_DAYS)
@pytest.mark.parametrize(("path", "name", "who"), DAY_PARAMETERS)
def test_a_day_out_of_bounds_or_not_plain_is_a_400_naming_it(system, path, name, who, value):
    answer = system.get(f"{path}&{name}={quote(value)}", asking(system, who))
    refused_naming(answer, name)


@pytest.mark.parametrize("value", EXTREME_TIMES)
@pytest.mark.parametrize(("path", "name", "who"), TIME_PARAMETERS)
def test_a_time_out_of_bounds_is_a_400_naming_it(system, path, name, who, value):
    answer = system.get(f"{path}&{name}={quote(value)}", asking(system, who))
    refused_naming(answer, name)


@pytest.mark.parametrize(
    "query",
    [
        "&first_day=0001-01-01&last_day=0001-01-02",
        "&first_day=9999-12-30&last_day=9999-12-31",
        "&last_day=0001-01-03",
    ],
)
def test_unmet_demand_at_the_calendars_ends_is_a_400(system, query):
    answer = system.get(UNMET + query, asking(system, "operator"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_days"
    assert answer.json()["error"]["field"] in ("first_day", "last_day")


@pytest.mark.parametrize(
    "query",
    [
        f"{UNMET}&first_day=2000-01-01&last_day=2000-01-01",
        f"{UNMET}&last_day=2000-01-01",
        f"{UNMET}&first_day=2100-12-31&last_day=2100-12-31",
        f"{FUNNEL}&from=2000-01-01&to=2000-01-01",
        f"{FUNNEL}&to=2000-01-01",
        f"{FUNNEL}&from=2100-12-31&to=2100-12-31",
        f"{RIDES}&until=2000-01-01T00:00:01Z",
        f"{RIDES}&since=2100-12-30T00:00:00Z&until=2100-12-31T23:59:59Z",
        f"{SPEEDING}&since=2100-12-31T23:59:59Z",
    ],
)
def test_days_and_times_at_the_bounds_are_answered(system, query):
    answer = system.get(query, asking(system, "operator"))
    assert answer.status_code == 200, (query, answer.text)


def test_an_unknown_field_of_a_body_is_named_as_itself(system):
    rider = asking(system, "rider")
    body = {"city_id": CITY, "kind": "bike", "idempotency_key": "k" * 16, "currency": "CNY"}
    answer = system.post("/api/v1/deposits", body, rider)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "unknown_field"
    assert answer.json()["error"]["field"] == "currency"
