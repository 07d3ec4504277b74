"""Every finished rental has a receipt; a disputed fare can be refunded by an operator."""

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_ride import ROUTE
from tests.helpers import CITY


def finished_ride(system, credit_minor=1000):
    code, lock = system.bike()
    rider = system.rider(credit_minor=credit_minor)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    return rider, rental_id, code


def test_a_finished_rental_has_a_receipt_with_lines_that_add_up(system):
    rider, rental_id, code = finished_ride(system, credit_minor=100)
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    assert receipt["asset"] == {"code": code, "kind": "bike"}
    assert receipt["total_minor"] == 150
    assert sum(line["amount_minor"] for line in receipt["lines"]) == 150
    assert (receipt["paid_from_wallet_minor"], receipt["owed_minor"]) == (100, 50)
    assert receipt["url"].endswith(f"/api/v1/rentals/{rental_id}/receipt")


def test_the_printable_receipt_carries_a_qr_code(system):
    rider, rental_id, _ = finished_ride(system)
    page = system.get(f"/api/v1/rentals/{rental_id}/receipt.html", rider)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<svg" in page.text and "1.50 CNY" in page.text
    assert re.search(r"<path[^>]+d=", page.text)


def test_the_printable_receipt_is_a_page_under_the_strict_policy_with_its_own_styles(system):
    rider, rental_id, _ = finished_ride(system)
    page = system.get(f"/api/v1/rentals/{rental_id}/receipt.html", rider)
    policy = page.headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "script-src 'self'" in policy
    assert "<style" not in page.text and "unsafe-inline" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    sheet = re.search(r'<link rel=stylesheet href="([^"]+)"', page.text)
    assert sheet is not None
    styles = system.http.get(f"{system.url}{sheet.group(1)}")
    assert styles.status_code == 200 and styles.headers["Content-Type"].startswith("text/css")


def test_no_receipt_before_the_end_and_none_for_another_rider(system):
    code, _ = system.bike()
    rider = system.rider()
    rental_id = system.scan(rider, code).json()["id"]
    early = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "receipt_not_ready")
    assert system.get(f"/api/v1/rentals/{rental_id}/receipt", system.rider()).status_code == 404


def test_an_operator_refunds_part_of_a_disputed_fare_to_the_wallet(system):
    rider, rental_id, _ = finished_ride(system, credit_minor=1000)
    opened = system.post(
        f"/api/v1/rentals/{rental_id}/disputes", {"reason": "The lock jammed"}, rider
    )
    assert opened.status_code == 201
    again = system.post(f"/api/v1/rentals/{rental_id}/disputes", {"reason": "Again"}, rider)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "dispute_open")

    operator = system.operator()
    [listed] = system.get("/api/v1/ops/disputes", operator).json()["disputes"]
    path = f"/api/v1/ops/disputes/{listed['id']}/resolution"
    too_much = system.post(path, {"refund_minor": 151}, operator)
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (400, "invalid_refund")
    resolved = system.post(path, {"refund_minor": 100, "note": "jammed lock confirmed"}, operator)
    assert resolved.json()["state"] == "refunded"
    repeated = system.post(path, {"refund_minor": 100}, operator)
    assert repeated.json() == resolved.json()  # a retry returns the first result
    otherwise = system.post(path, {"refund_minor": 20}, operator)
    assert (otherwise.status_code, otherwise.json()["error"]["code"]) == (409, "dispute_resolved")

    assert system.balance(rider) == 1000 - 150 + 100
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    assert receipt["refunded_minor"] == 100

    # A second dispute can only ask for what is left.
    second = system.post(
        f"/api/v1/rentals/{rental_id}/disputes", {"reason": "rest too"}, rider
    ).json()
    rest = system.post(
        f"/api/v1/ops/disputes/{second['id']}/resolution", {"refund_minor": 51}, operator
    )
    assert rest.status_code == 400
    assert system.post("/api/v1/ops/disputes/x/resolution", {}, rider).status_code == 403


def test_the_printable_receipt_reads_the_end_in_the_citys_time(system):
    rider, rental_id, _ = finished_ride(system)
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    page = system.get(f"/api/v1/rentals/{rental_id}/receipt.html", rider).text

    assert receipt["time_zone"] == "Asia/Shanghai"
    ended = datetime.fromisoformat(receipt["ended_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert ended.strftime("%Y-%m-%d %H:%M CST") in page  # UTC+8, whatever the hour in UTC
    assert " UTC" not in page


def test_an_operator_opens_a_dispute_with_its_fare_route_parking_and_riders_history(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    opened = system.post(f"/api/v1/rentals/{rental_id}/disputes", {"reason": "Too dear"}, rider)
    dispute_id = opened.json()["id"]

    answer = system.get(f"/api/v1/ops/disputes/{dispute_id}", system.operator())
    assert answer.status_code == 200, answer.text
    case = answer.json()
    assert (case["dispute"]["id"], case["dispute"]["reason"]) == (dispute_id, "Too dear")
    receipt = case["receipt"]
    assert sum(line["amount_minor"] for line in receipt["lines"]) == receipt["total_minor"] > 0
    assert receipt["refundable_minor"] == receipt["total_minor"]
    assert receipt["asset"]["code"] == code and receipt["city_id"] == CITY
    route = case["route"]["coordinates"]
    assert len(route) >= 2 and route[0] == pytest.approx(ROUTE[0], abs=1e-5)
    parked = case["parked"]
    assert parked["position"] == pytest.approx(route[-1], abs=1e-5)
    assert parked["outcome"] == "ok" and parked["inside_service_area"] is True
    history = case["history"]
    assert (history["window_days"], history["rides"], history["failed_unlocks"]) == (30, 1, 0)
    assert (history["disputes_opened"], history["disputes_open"]) == (1, 1)
    assert (history["refunded"], history["account_age_days"]) == ([], 0)
    assert isinstance(history["credit_score"], int)
    # What judging needs, and no more: not the rider's phone number nor name.
    with system.platform.uow() as unit:
        account = unit.users.get(rider.id)
    assert account is not None
    assert account.phone not in answer.text and "phone" not in answer.text
    assert account.name not in answer.text


def test_only_operators_open_a_dispute_and_an_unknown_or_malformed_one_is_an_error(system):
    rider, rental_id, _ = finished_ride(system)
    dispute_id = system.post(
        f"/api/v1/rentals/{rental_id}/disputes", {"reason": "Too dear"}, rider
    ).json()["id"]
    refused = system.get(f"/api/v1/ops/disputes/{dispute_id}", rider)
    assert refused.status_code == 403 and "error" in refused.json()
    assert system.get(f"/api/v1/ops/disputes/{dispute_id}").status_code == 401

    operator = system.operator()
    unknown = system.get(f"/api/v1/ops/disputes/{uuid.uuid4()}", operator)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "dispute_not_found")
    malformed = system.get("/api/v1/ops/disputes/not-a-dispute", operator)
    assert 400 <= malformed.status_code < 500 and "dispute_id" in malformed.text
    assert "error" in malformed.json()
