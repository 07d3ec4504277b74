"""Watching a ride: the metrics scraped from the API during a ride show the scan's request
and its unlock, the request's log line is JSON with its request id, and the scan's lines
can be followed from the API into lockctl by the unlock command's id. Who may read
/metrics."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rental.adapters import health
from rental.app import create_app
from rental.observability.logs import configure_logging

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(system) -> Samples:
    answer = system.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_ride_shows_in_the_metrics_its_scan_request_and_its_unlock(system):
    code, _ = system.bike()
    rider = system.rider()
    before = scrape(system)

    scanned = system.scan(rider, code)
    assert scanned.status_code == 202, scanned.text
    system.wait_state(rider, scanned.json()["id"], "active")
    after = scrape(system)

    scan = {"method": "POST", "route": "/api/v1/rentals", "status": "2xx"}
    requests = "rental_http_request_duration_seconds_count"
    assert value(after, requests, **scan) == value(before, requests, **scan) + 1
    unlocks = "rental_scan_to_unlock_seconds_count"
    assert value(after, unlocks) == value(before, unlocks) + 1
    # The lock answers within the simulator's delay: well inside the 5 s bucket.
    fast = "rental_scan_to_unlock_seconds_bucket"
    assert value(after, fast, le="5.0") == value(before, fast, le="5.0") + 1
    confirmed = "rental_unlock_outcomes_total"
    assert value(after, confirmed, outcome="confirmed") == (
        value(before, confirmed, outcome="confirmed") + 1
    )
    # Read from the database at scrape time: this test's lock is online.
    assert value(after, "rental_locks", state="online") >= 1
    evt = "lockctl_reports_total"
    assert value(after, evt, channel="evt") > value(before, evt, channel="evt")


def test_a_route_is_labelled_by_its_rule_not_its_path(system):
    rider = system.rider()
    for _ in range(2):
        assert system.get(f"/api/v1/rentals/{rider.id}", rider).status_code == 404
    samples = scrape(system)
    rule = {"method": "GET", "route": "/api/v1/rentals/<rental_id>", "status": "4xx"}
    assert value(samples, "rental_http_request_duration_seconds_count", **rule) >= 2
    assert not any(str(rider.id) in dict(labels).get("route", "") for _, labels in samples)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("e2e", stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_requests_log_line_is_json_and_carries_its_request_id(system, json_log):
    kept = system.http.get(
        system.url + "/api/v1/cities/nowhere/zones", headers={"X-Request-ID": "trace-42"}
    )
    made = system.http.get(
        system.url + "/api/v1/cities/nowhere/zones", headers={"X-Request-ID": "a b"}
    )

    assert kept.headers["X-Request-ID"] == "trace-42"
    new_id = made.headers["X-Request-ID"]
    assert new_id != "a b" and len(new_id) == 32
    logged = {line["request_id"]: line for line in lines(json_log) if "route" in line}
    assert logged["trace-42"]["route"] == "/api/v1/cities/<city_id>/zones"
    assert logged["trace-42"]["status"] == kept.status_code
    assert logged["trace-42"]["process"] == "e2e"
    assert new_id in logged


def test_a_scan_can_be_followed_from_the_api_into_lockctl_by_its_command_id(system, json_log):
    code, _ = system.bike()
    rider = system.rider()
    answer = system.http.post(
        system.url + "/api/v1/rentals",
        json={"qr": f"https://ride.example/q/{code}", "idempotency_key": "follow-me-0001"},
        headers={**rider.headers, "X-Request-ID": "scan-trace-1"},
    )
    rental_id = answer.json()["id"]
    system.wait_state(rider, rental_id, "active")

    logged = lines(json_log)
    sent = [line for line in logged if line.get("request_id") == "scan-trace-1"]
    unlock_sent = next(line for line in sent if line.get("command_id"))
    assert unlock_sent["rental_id"] == rental_id
    command_id = unlock_sent["command_id"]
    in_lockctl = [line for line in logged if line.get("command_id") == command_id]
    opened = [line for line in in_lockctl if "request_id" not in line]
    assert opened, f"no lockctl line about command {command_id}"
    assert any(line.get("rental_id") == rental_id for line in opened)


def test_metrics_are_not_for_a_proxy_nor_without_the_operators_token(platform, system):
    through_proxy = system.http.get(
        system.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert through_proxy.status_code == 403
    assert through_proxy.json()["error"]["code"] == "metrics_forbidden"

    client = create_app({"METRICS_TOKEN": "scrape-secret"}, platform=platform).test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
    assert b"rental_http_request_duration_seconds" in allowed.data


def test_readiness_says_so_when_the_schema_is_not_the_codes(system, monkeypatch):
    assert system.get("/readyz").json() == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "broker": "ok"},
    }
    monkeypatch.setattr(health, "head_revisions", lambda: frozenset({"9999_from_the_future"}))
    answer = system.get("/readyz")
    assert answer.status_code == 503
    assert "9999_from_the_future" in answer.json()["checks"]["schema"]
    assert answer.json()["checks"]["database"] == "ok"
