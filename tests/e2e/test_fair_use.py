"""Fair use through HTTP and PostgreSQL: one account cannot hide the fleet with damage
reports, pile up payment orders, or churn holds through the city's feeds."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from rental.bootstrap import utc_now
from rental.services import payments
from tests.e2e.test_map import nearby_codes
from tests.helpers import eventually

DAY = 24 * 3600


def hold(system, rider, code):
    answer = system.post(
        "/api/v1/reservations", {"code": code, "idempotency_key": uuid.uuid4().hex}, rider
    )
    return answer


def hold_and_cancel(system, rider, code):
    held = hold(system, rider, code)
    assert held.status_code == 201, held.text
    cancelled = system.post(f"/api/v1/reservations/{held.json()['id']}/cancel", None, rider)
    assert cancelled.json()["state"] == "cancelled", cancelled.text


def report(system, rider, code, category="brakes"):
    return system.post("/api/v1/damage-reports", {"code": code, "category": category}, rider)


def top_up(system, rider, amount=50_000):
    body = {"amount_minor": amount, "idempotency_key": uuid.uuid4().hex}
    return system.post("/api/v1/wallet/top-ups", body, rider)


def refusal(answer, status, code):
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    return answer.json()["error"]


def retry_after(answer) -> int:
    """The Retry-After header, checked against the body's retry_at (within a few seconds)."""
    seconds = int(answer.headers["Retry-After"])
    retry_at = datetime.fromisoformat(answer.json()["error"]["retry_at"])
    assert abs((retry_at - utc_now()).total_seconds() - seconds) < 5
    return seconds


def test_a_new_rider_cannot_hide_the_fleet_with_damage_reports(system):
    fleet = [system.bike()[0] for _ in range(4)]
    eventually(lambda: sorted(nearby_codes(system)) == sorted(fleet), what="the fleet on the map")
    newcomer = system.rider(credit_minor=0)
    for code in fleet:
        refused = refusal(report(system, newcomer, code), 403, "report_not_eligible")
        assert "rode in the last 30 minutes" in refused["message"]
    assert sorted(nearby_codes(system)) == sorted(fleet)
    with system.platform.uow() as uow:
        assert uow.connection.exec_driver_sql("SELECT count(*) FROM damage_reports").scalar() == 0


def test_a_rider_who_rode_the_bike_reports_it_and_it_leaves_the_map_at_once(system):
    code, lock = system.bike()
    rider = system.rider()
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    eventually(lambda: nearby_codes(system) == [code], what="the bike back on the map")

    filed = report(system, rider, code)
    assert filed.status_code == 201, filed.text
    assert nearby_codes(system) == []


def test_a_rider_sends_a_few_reports_a_day_then_is_told_when_again(system, monkeypatch):
    monkeypatch.setattr(system.platform.config, "DAMAGE_REPORTS_PER_DAY", 1)
    first, second = system.bike()[0], system.bike()[0]
    rider = system.rider()
    hold_and_cancel(system, rider, first)
    assert report(system, rider, first).status_code == 201
    hold_and_cancel(system, rider, second)

    refused = report(system, rider, second)
    refusal(refused, 429, "report_limit_reached")
    assert DAY - 60 < retry_after(refused) <= DAY
    assert report(system, rider, first, "tyre").status_code == 200  # the open one, again


def test_an_operator_closes_all_reports_of_a_bike_in_one_go(system):
    code, _ = system.bike()
    first, second, operator = system.rider(), system.rider(), system.operator()
    hold_and_cancel(system, first, code)
    assert hold(system, second, code).status_code == 201  # holding it now
    assert report(system, first, code).status_code == 201
    assert report(system, second, code, "chain").status_code == 201
    held = system.get("/api/v1/reservations/current", second).json()
    system.post(f"/api/v1/reservations/{held['id']}/cancel", None, second)
    assert nearby_codes(system) == []

    path = f"/api/v1/ops/assets/{code}/damage-reports/close"
    assert system.post(path, {"resolution": "fixed"}, first).status_code == 403
    assert system.post(path, {}, operator).status_code == 400
    closed = system.post(path, {"resolution": "brakes and chain fixed"}, operator)
    assert closed.status_code == 200, closed.text
    assert {(r["category"], r["state"]) for r in closed.json()["closed"]} == {
        ("brakes", "closed"),
        ("chain", "closed"),
    }
    assert nearby_codes(system) == [code]
    again = system.post(path, {"resolution": "looked again"}, operator)
    assert again.json() == {"asset_code": code, "closed": []}
    assert (
        system.post(
            "/api/v1/ops/assets/NOPE/damage-reports/close", {"resolution": "x"}, operator
        ).status_code
        == 404
    )


def test_a_rider_has_three_payments_waiting_at_most_even_when_asking_at_once(system):
    rider = system.rider(credit_minor=0)
    headers = {**rider.headers, "Content-Type": "application/json"}

    def one_top_up(_: int) -> requests.Response:
        body = {"amount_minor": 500_000, "idempotency_key": uuid.uuid4().hex}
        return requests.post(f"{system.url}/api/v1/wallet/top-ups", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one_top_up, range(8)))

    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [429] * 5
    refused = next(answer for answer in answers if answer.status_code == 429)
    refusal(refused, 429, "too_many_open_payments")
    # When the oldest expires: a request that waited for the lock may have started earlier.
    assert 29 * 60 < retry_after(refused) <= 30 * 60 + 5
    with system.platform.uow() as uow:
        count = "SELECT count(*) FROM payment_orders WHERE rider_id = %(r)s"
        assert uow.connection.exec_driver_sql(count, {"r": rider.id}).scalar() == 3

    paid = next(answer.json() for answer in answers if answer.status_code == 201)
    system.pay(paid)
    system.wait_order(rider, paid["id"], "paid")
    assert top_up(system, rider).status_code == 201  # paying one freed its place


def test_an_order_paid_after_it_expired_is_still_credited(system):
    rider = system.rider(credit_minor=0)
    late = top_up(system, rider, 2000).json()
    for _ in range(2):
        assert top_up(system, rider).status_code == 201
    with system.platform.uow() as uow:  # half an hour goes by, nobody pays
        uow.connection.exec_driver_sql(
            "UPDATE payment_orders SET expires_at = now() - interval '1 second'"
            " WHERE rider_id = %(r)s",
            {"r": rider.id},
        )
        uow.commit()
    assert top_up(system, rider).status_code == 201  # they no longer count
    assert payments.expire_orders(system.platform.uow(), utc_now()) == 3
    shown = system.get(f"/api/v1/payments/{late['id']}", rider).json()
    assert shown["state"] == "expired"

    system.pay(late)  # the rider finished paying on the gateway's page after all
    system.wait_order(rider, late["id"], "paid")
    [wallet] = system.get("/api/v1/wallet", rider).json()["wallets"]
    assert wallet["balance_minor"] == 2000
    assert system.get("/api/v1/ops/books", system.operator()).json()["balanced"] is True


def test_repeated_hold_cancels_pause_holds_but_not_rides(system):
    code, _ = system.bike()
    rider = system.rider()
    for _ in range(3):
        hold_and_cancel(system, rider, code)

    refused = hold(system, rider, code)
    message = refusal(refused, 429, "hold_cool_down")["message"]
    assert "in 30 minutes" in message
    assert 29 * 60 < retry_after(refused) <= 30 * 60
    assert system.scan(rider, code).status_code == 202
    with system.platform.uow() as uow:
        events = uow.connection.exec_driver_sql(
            "SELECT count(*) FROM vehicle_events e JOIN assets a ON a.id = e.asset_id"
            " WHERE a.code = %(c)s AND e.kind LIKE 'reservation%%'",
            {"c": code},
        ).scalar()
    assert events == 6  # three holds, three ends: the feed sees no more
