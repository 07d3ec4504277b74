"""Input that once reached PostgreSQL or Python's recursion limit and answered 500 now
answers 4xx with the JSON error body naming what was wrong: NUL characters, JSON nested
without end, a list or object where a text belongs, and texts longer than their column.
Each kind is shown on the request that was found, and on others of the same kind."""

import json

import pytest
import requests

DEEP = 100_000


def refused(answer: requests.Response, status: int, code: str) -> dict[str, object]:
    """The answer is `status` with our error body and `code`; the error, for more checks."""
    assert answer.status_code == status, answer.text[:300]
    error = answer.json()["error"]
    assert error["code"] == code and error["message"], error
    return dict(error)


def raw_post(system, path, text, who=None):
    headers = {"Content-Type": "application/json", **(who.headers if who else {})}
    return system.http.post(system.url + path, data=text.encode(), headers=headers)


# -- NUL characters ---------------------------------------------------------------------


def test_a_nul_in_the_path_is_refused_before_the_database_sees_it(system):
    refused(system.get("/gbfs/v3/%00/system_information.json"), 400, "invalid_path")
    refused(system.get("/api/v1/cities/demo%00/zones"), 400, "invalid_path")


def test_a_nul_in_a_sign_in_is_refused_and_names_the_field(system):
    answer = system.post("/api/v1/auth/token", {"phone": "1\u0000", "password": "x"})

    assert refused(answer, 400, "invalid_phone")["field"] == "phone"


def test_a_nul_anywhere_in_a_body_or_query_is_refused(system):
    rider = system.rider()
    sign_up = {"phone": "13812345678", "password": "long enough", "name": "Li\u0000Lei"}
    assert refused(system.post("/api/v1/riders", sign_up), 400, "invalid_name")["field"] == "name"
    nested = {"type": "FeatureCollection", "features": [{"type": "Feature\u0000"}]}
    error = refused(
        system.put("/api/v1/ops/zones/demo", nested, system.operator()), 400, "invalid_features"
    )
    assert error["field"] == "features.0.type"
    query = "/api/v1/vehicles/nearby?lon=121.47&lat=31.23&kind=bike%00"
    assert refused(system.get(query, rider), 400, "invalid_query")["field"] == "kind"


# -- JSON nested without end ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/riders", "/api/v1/auth/token"])
def test_json_nested_100000_deep_is_refused_where_anyone_may_post(system, path):
    refused(raw_post(system, path, "[" * DEEP + "]" * DEEP), 400, "invalid_json")
    refused(raw_post(system, path, '{"a":' * DEEP + "1" + "}" * DEEP), 400, "invalid_json")


def test_json_nested_past_the_limit_is_refused_on_a_rider_route_too(system):
    body = '{"qr": "BK00001", "idempotency_key": ' + "[" * 40 + "]" * 40 + "}"

    refused(raw_post(system, "/api/v1/rentals", body, system.rider()), 400, "invalid_json")


def test_broken_json_is_invalid_json(system):
    refused(raw_post(system, "/api/v1/riders", '{"phone": '), 400, "invalid_json")
    refused(raw_post(system, "/api/v1/riders", '{"phone": NaN}'), 400, "invalid_json")


# -- a list or an object where a text or a number belongs ---------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"city_id": "demo", "kind": [], "idempotency_key": "abcdefgh-2"}, "invalid_kind"),
        ({"city_id": {"a": 1}, "kind": "bike", "idempotency_key": "abcdefgh-2"}, "invalid_city_id"),
        (
            {"city_id": "demo", "kind": "bike", "idempotency_key": ["a" * 8]},
            "invalid_idempotency_key",
        ),
    ],
)
def test_a_deposit_with_a_wrong_type_is_refused(system, body, code):
    refused(system.post("/api/v1/deposits", body, system.rider()), 400, code)


def test_wrong_types_are_refused_on_other_routes(system):
    rider = system.rider()
    scan = {"qr": ["BK00001"], "idempotency_key": "k" * 16}
    refused(system.post("/api/v1/rentals", scan, rider), 400, "invalid_qr")
    top_up = {"amount_minor": True, "idempotency_key": "k" * 16}
    refused(system.post("/api/v1/wallet/top-ups", top_up, rider), 400, "invalid_amount")
    report = {"code": "BK00001", "category": {"brakes": 1}}
    refused(system.post("/api/v1/damage-reports", report, rider), 400, "invalid_category")
    refused(system.get("/api/v1/rentals?before=yesterday", rider), 400, "invalid_before")


# -- texts longer than their column ----------------------------------------------------


@pytest.mark.parametrize("currency", ["EURO", "eur", "", 978])
def test_a_refund_in_no_iso_4217_currency_is_refused(system, currency):
    body = {"currency": currency, "idempotency_key": "abcdefgh-3"}

    answer = system.post("/api/v1/deposits/refunds", body, system.rider())

    assert refused(answer, 400, "invalid_currency")["field"] == "currency"


def test_over_long_texts_are_refused_before_they_reach_a_column(system):
    rider = system.rider()
    sign_up = {"phone": "13812345678", "password": "long enough", "name": "x" * 10_000}
    refused(system.post("/api/v1/riders", sign_up), 400, "invalid_name")
    sign_up = {"phone": "13812345678", "password": "p" * 129, "name": "Li Lei"}
    refused(system.post("/api/v1/riders", sign_up), 400, "invalid_password")
    scan = {"qr": "BK00001", "idempotency_key": "k" * 65}
    refused(system.post("/api/v1/rentals", scan, rider), 400, "invalid_idempotency_key")
    top_up = {"amount_minor": 1000, "currency": "CNYX", "idempotency_key": "k" * 16}
    refused(system.post("/api/v1/wallet/top-ups", top_up, rider), 400, "invalid_currency")
    report = {"code": "BK00001", "category": "brakes", "note": "n" * 10_000}
    refused(system.post("/api/v1/damage-reports", report, rider), 400, "invalid_note")
    refused(
        system.get("/api/v1/ops/pricing-plans?city_id=" + "c" * 41, system.operator()),
        400,
        "invalid_city_id",
    )


@pytest.mark.parametrize("megabytes", [2, 50])
def test_a_body_over_the_cap_is_refused_unread(system, megabytes):
    password = "p" * (megabytes * 1024 * 1024)
    body = json.dumps({"phone": "13812345678", "password": password, "name": "Li Lei"})

    refused(raw_post(system, "/api/v1/riders", body), 413, "body_too_large")
