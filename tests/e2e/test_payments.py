"""Top-ups and deposits through the sandbox gateway: credited once, whatever the gateway does."""

import json
import time
import uuid

from sandboxpay.signing import signed_headers
from tests.helpers import CITY, eventually


def top_up(system, rider, amount=1000, key=None):
    body = {"amount_minor": amount, "idempotency_key": key or uuid.uuid4().hex}
    answer = system.post("/api/v1/wallet/top-ups", body, rider)
    assert answer.status_code == 201, answer.text
    return answer.json()


def balance(system, rider):
    wallets = system.get("/api/v1/wallet", rider).json()["wallets"]
    return wallets[0] if wallets else {"balance_minor": 0, "deposit_minor": 0, "debt_minor": 0}


def notify(system, event, secret=None):
    body = json.dumps(event).encode()
    headers = signed_headers(secret or system.gateway_secret, body)
    return system.http.post(
        f"{system.url}/api/v1/payments/notify/sandbox", data=body, headers=headers
    )


def test_a_top_up_is_credited_once_although_the_gateway_notifies_three_times(system):
    rider = system.rider(credit_minor=0)
    order = top_up(system, rider, 2000)
    assert order["state"] == "pending" and order["pay_url"].startswith(system.gateway_url)
    system.pay(order, repeat=3, delay_ms=20)
    system.wait_order(rider, order["id"], "paid")
    eventually(
        lambda: len(system.gateway_app.extensions["gateway"].delivered) >= 3, what="3 deliveries"
    )
    assert balance(system, rider)["balance_minor"] == 2000
    trade_no = order["pay_url"].rsplit("/", 1)[-1]
    at_gateway = system.http.get(f"{system.gateway_url}/v1/orders/{trade_no}").json()
    assert (at_gateway["state"], at_gateway["amount_minor"]) == ("paid", 2000)


def test_a_stale_failure_after_the_success_changes_nothing(system):
    rider = system.rider(credit_minor=0)
    order = top_up(system, rider, 1500)
    system.pay(order, stale_failure_after=True)
    system.wait_order(rider, order["id"], "paid")
    time.sleep(0.6)  # the stale failure arrives after the success
    assert system.get(f"/api/v1/payments/{order['id']}", rider).json()["state"] == "paid"
    assert balance(system, rider)["balance_minor"] == 1500


def trade_of(order):
    return order["pay_url"].rsplit("/", 1)[-1]


def test_a_failure_then_a_late_success_credits_once(system):
    rider = system.rider(credit_minor=0)
    order = top_up(system, rider, 800)
    system.pay(order, outcome="failure")
    system.wait_order(rider, order["id"], "failed")
    assert balance(system, rider)["balance_minor"] == 0
    system.pay(order)
    system.wait_order(rider, order["id"], "paid")
    event = {
        "event": "payment.succeeded",
        "trade_no": trade_of(order),
        "merchant_order_id": order["id"],
        "amount_minor": 800,
        "currency": "CNY",
    }
    assert notify(system, event).json() == {"result": "success"}  # a repeat
    assert balance(system, rider)["balance_minor"] == 800


def test_forged_and_mismatched_notifications_credit_nothing(system):
    rider = system.rider(credit_minor=0)
    order = top_up(system, rider, 800)
    event = {
        "event": "payment.succeeded",
        "trade_no": trade_of(order),
        "merchant_order_id": order["id"],
        "amount_minor": 800,
        "currency": "CNY",
    }
    refusals = {
        "invalid_signature": notify(system, event, secret=b"guessed"),
        "amount_mismatch": notify(system, {**event, "amount_minor": 80_000}),
        "trade_mismatch": notify(system, {**event, "trade_no": "T-NOT-REAL"}),
        # Signed and about the order's own trade, but the gateway was never paid for it.
        "trade_not_confirmed": notify(system, event),
    }
    for code, answer in refusals.items():
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)
    assert balance(system, rider)["balance_minor"] == 0
    assert system.get(f"/api/v1/payments/{order['id']}", rider).json()["state"] == "pending"
    system.pay(order)
    system.wait_order(rider, order["id"], "paid")
    assert balance(system, rider)["balance_minor"] == 800
    assert system.get("/api/v1/ops/books", system.operator()).json()["balanced"] is True


def test_repeating_a_top_up_request_returns_the_first_order(system):
    rider = system.rider()
    first = top_up(system, rider, 1000, key="top-up-0001")
    again = top_up(system, rider, 1000, key="top-up-0001")
    assert first["id"] == again["id"] and first["pay_url"] == again["pay_url"]
    bad = system.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 1.5, "idempotency_key": "k" * 10}, rider
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_amount")


def test_a_top_up_pays_the_debt_first(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=100)
    rental_id = system.scan(rider, code).json()["id"]
    system.rental(rider, rental_id, wait=5)
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    assert balance(system, rider)["debt_minor"] == 50
    order = top_up(system, rider, 1000)
    system.pay(order)
    system.wait_order(rider, order["id"], "paid")
    assert (balance(system, rider)["balance_minor"], balance(system, rider)["debt_minor"]) == (
        950,
        0,
    )


DEPOSIT_PLAN = {
    "rate_per_interval_minor": 150,
    "interval_seconds": 1800,
    "deposit_minor": 29900,
    "deposit_waiver_score": 650,
}


def test_a_deposit_is_held_then_refunded_through_the_gateway(system):
    code, lock = system.bike()
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", DEPOSIT_PLAN, system.operator()).ok
    rider = system.rider(credit_minor=1000)
    assert system.scan(rider, code).json()["error"]["code"] == "deposit_required"

    deposit = system.post(
        "/api/v1/deposits",
        {"city_id": CITY, "kind": "bike", "idempotency_key": uuid.uuid4().hex},
        rider,
    )
    assert deposit.status_code == 201 and deposit.json()["amount_minor"] == 29900
    system.pay(deposit.json())
    system.wait_order(rider, deposit.json()["id"], "paid")
    assert balance(system, rider)["deposit_minor"] == 29900

    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    refund_key = {"currency": "CNY", "idempotency_key": uuid.uuid4().hex}
    early = system.post("/api/v1/deposits/refunds", refund_key, rider)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "rental_in_progress")
    lock.close()
    system.wait_state(rider, rental_id, "ended")

    refunded = system.post("/api/v1/deposits/refunds", refund_key, rider)
    assert refunded.status_code == 202
    [refund] = refunded.json()["refunds"]
    assert refund["amount_minor"] == 29900
    assert balance(system, rider)["deposit_minor"] == 0
    eventually(
        lambda: (
            system.post("/api/v1/deposits/refunds", refund_key, rider).json()["refunds"][0]["state"]
            == "succeeded"
        ),
        what="the refund to succeed",
    )
    gateway = system.gateway_app.extensions["gateway"]
    paid_order = gateway.orders[gateway.by_merchant_id[deposit.json()["id"]]]
    assert paid_order.refunded_minor == 29900


def test_a_refund_the_gateway_refuses_returns_the_deposit(system):
    system.bike()
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", DEPOSIT_PLAN, system.operator()).ok
    rider = system.rider()
    deposit = system.post(
        "/api/v1/deposits",
        {"city_id": CITY, "kind": "bike", "idempotency_key": uuid.uuid4().hex},
        rider,
    ).json()
    system.pay(deposit)
    system.wait_order(rider, deposit["id"], "paid")
    system.gateway_faults(fail_refunds=True)
    try:
        refunded = system.post(
            "/api/v1/deposits/refunds", {"idempotency_key": uuid.uuid4().hex}, rider
        )
        assert refunded.status_code == 202
        eventually(
            lambda: balance(system, rider)["deposit_minor"] == 29900, what="the deposit back"
        )
    finally:
        system.gateway_faults()


def test_a_gateway_that_does_not_answer_is_a_clear_503_and_moves_no_money(system):
    rider = system.rider(credit_minor=0)
    working = system.platform.payment_gateway
    system.platform.payment_gateway = type(working)("http://127.0.0.1:9", working.secret)
    try:
        answer = system.post(
            "/api/v1/wallet/top-ups", {"amount_minor": 500, "idempotency_key": "k" * 12}, rider
        )
    finally:
        system.platform.payment_gateway = working
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "gateway_unavailable")
    assert balance(system, rider)["balance_minor"] == 0


def test_a_top_ups_idempotency_key_reused_elsewhere_is_a_conflict_not_the_top_up(system):
    rider = system.rider(credit_minor=0)
    key = uuid.uuid4().hex
    order = top_up(system, rider, 1000, key=key)
    retried = system.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 1000, "idempotency_key": key}, rider
    )
    assert (retried.status_code, retried.json()["id"]) in {(200, order["id"]), (201, order["id"])}
    for path, body in (
        ("/api/v1/deposits", {"city_id": CITY, "kind": "bike", "idempotency_key": key}),
        ("/api/v1/wallet/top-ups", {"amount_minor": 2000, "idempotency_key": key}),
        ("/api/v1/rentals", {"qr": "BK00001", "idempotency_key": key}),
        ("/api/v1/reservations", {"code": "BK00001", "idempotency_key": key}),
    ):
        answer = system.post(path, body, rider)
        assert answer.status_code == 409, (path, answer.text)
        assert answer.json()["error"]["code"] == "idempotency_key_reused", path
