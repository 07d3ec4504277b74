"""The operators' routes, the lock link's, rebalancing's and MDS's as the OpenAPI document at
/api/v1/openapi.json declares them: every route with its parameters and their bounds, and
MDS's answers in MDS's own media type and error shape."""

import re

import pytest

from rental.app import create_app

MDS_TYPE = "application/vnd.mds+json;version=2.0"


@pytest.fixture(scope="module")
def document(platform):
    return create_app(platform=platform).test_client().get("/api/v1/openapi.json").json


def parameters(operation: dict) -> dict[str, dict]:
    return {p["name"]: p for p in operation.get("parameters", [])}


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("post", "/api/v1/ops/locks", set()),
        ("post", "/api/v1/ops/assets", set()),
        ("get", "/api/v1/ops/assets", {"city_id"}),
        ("get", "/api/v1/ops/assets/{code}/label", {"code"}),
        ("post", "/api/v1/ops/cabinets", set()),
        ("post", "/api/v1/ops/riders/{rider_id}/credit-events", {"rider_id"}),
        ("get", "/api/v1/ops/alerts", {"city_id"}),
        ("get", "/api/v1/ops/dead-letters", {"state", "limit", "before_id"}),
        ("post", "/api/v1/ops/dead-letters/{letter_id}/replay", {"letter_id"}),
        ("get", "/api/v1/ops/locks/{lock_id}/problems", {"lock_id", "limit"}),
        ("put", "/api/v1/ops/rebalancing/fleets/{city_id}", {"city_id"}),
        ("get", "/api/v1/ops/rebalancing/fleets/{city_id}", {"city_id"}),
        ("post", "/api/v1/ops/rebalancing/plans", set()),
        ("get", "/api/v1/ops/rebalancing/plans/latest", {"city_id"}),
        ("get", "/api/v1/ops/rebalancing/plans/{plan_id}", {"plan_id"}),
        (
            "post",
            "/api/v1/ops/rebalancing/plans/{plan_id}/trucks/{truck}/stops/{seq}/done",
            {"plan_id", "truck", "seq"},
        ),
        ("post", "/api/v1/ops/mds-clients", set()),
        ("get", "/api/v1/ops/mds-clients", set()),
        ("delete", "/api/v1/ops/mds-clients/{client_id}", {"client_id"}),
        ("get", "/mds/v2/vehicles", {"page_after"}),
        ("get", "/mds/v2/vehicles/{device_id}", {"device_id"}),
        ("get", "/mds/v2/vehicles/status", {"page_after"}),
        ("get", "/mds/v2/vehicles/status/{device_id}", {"device_id"}),
        ("get", "/mds/v2/trips", {"end_time"}),
        ("get", "/mds/v2/telemetry", {"telemetry_time"}),
        ("get", "/mds/v2/events/historical", {"event_time"}),
        ("get", "/mds/v2/events/recent", {"start_time", "end_time", "page_after"}),
        ("get", "/mds/v2/reports/{filename}", {"filename"}),
    ],
)
def test_every_route_is_in_the_document_with_its_parameters_and_a_token(
    document, method, path, named
):
    operation = document["paths"][path][method]
    assert set(parameters(operation)) == named
    assert operation["security"] == [{"bearer": []}]
    assert "401" in operation["responses"]
    if method in ("post", "put") and not path.endswith(("/replay", "/done")):
        assert "requestBody" in operation, path


def test_bounds_are_published_as_they_are_enforced(document):
    letters = parameters(document["paths"]["/api/v1/ops/dead-letters"]["get"])
    assert letters["limit"]["schema"]["maximum"] == 500
    assert letters["state"]["schema"]["enum"] == ["open", "all"]
    stop = document["paths"][
        "/api/v1/ops/rebalancing/plans/{plan_id}/trucks/{truck}/stops/{seq}/done"
    ]["post"]
    assert parameters(stop)["truck"]["schema"]["maximum"] == 2**31 - 1
    trips = parameters(document["paths"]["/mds/v2/trips"]["get"])
    assert trips["end_time"]["required"] is True
    assert re.fullmatch(trips["end_time"]["schema"]["pattern"], "2026-11-23T07")
    for not_an_hour in ("0000-01-01T00", "2026-13-01T00", "2026-11-23T24", "2026-11-23"):
        assert not re.fullmatch(trips["end_time"]["schema"]["pattern"], not_an_hour)
    recent = parameters(document["paths"]["/mds/v2/events/recent"]["get"])
    assert recent["start_time"]["schema"]["minimum"] == 1_514_764_800_000
    schemas = document["components"]["schemas"]
    reference = schemas["ConfirmedIncident"]["properties"]["reference"]
    assert (reference["minLength"], reference["maxLength"]) == (3, 100)
    assert schemas["FleetRequest"]["properties"]["trucks"]["maxItems"] == 500


def test_mds_answers_in_its_media_type_and_its_error_shape(document):
    for path, item in document["paths"].items():
        if not path.startswith("/mds/"):
            continue
        answers = item["get"]["responses"]
        ok = answers["200"]["content"]
        assert list(ok) == (["text/csv"] if "reports" in path else [MDS_TYPE]), path
        for status in ("400", "401", "404"):
            if status in answers:
                error = answers[status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/MdsErrorBody"}, (path, status)
    telemetry = document["paths"]["/mds/v2/telemetry"]["get"]["responses"]
    assert "404" not in telemetry  # MDS gives /telemetry no 404
    assert "406" in telemetry
