"""Money going back (deposit refunds, withdrawals of the wallet) through the gateway that
took it, with two sandbox gateways side by side; the books balance after each step,
whatever the gateways' notifications do."""

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from rental.adapters.sandbox_gateway import SandboxGateway
from sandboxpay.server import create_gateway_app
from sandboxpay.signing import signed_headers
from tests.e2e.test_payments import balance, top_up
from tests.helpers import CITY, eventually

SECOND = "sandbox-b"


class SecondGateway:
    """Another sandbox, as another provider: its own server, secret and name."""

    def __init__(self) -> None:
        self.secret = uuid.uuid4().hex.encode()
        self.app = create_gateway_app(self.secret)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.client = SandboxGateway(
            f"http://127.0.0.1:{self._server.server_port}", self.secret, name=SECOND
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def second(system) -> Iterator[SecondGateway]:
    gateway = SecondGateway()
    first = system.platform.payment_gateway
    yield gateway
    system.platform.payment_gateway = first
    system.platform.payment_gateways.pop(SECOND, None)
    gateway.stop()


def refunded_at(app, order_id: str) -> int:
    gateway = app.extensions["gateway"]
    return gateway.orders[gateway.by_merchant_id[order_id]].refunded_minor


def refund_states(system, path: str, request: dict, rider) -> set[str]:
    """The states of a request's refunds, as its repeat answers them."""
    return {part["state"] for part in system.post(path, request, rider).json()["refunds"]}


def books_balance(system) -> None:
    report = system.get("/api/v1/ops/books", system.operator()).json()
    assert report["balanced"] is True, report


def pay_deposit(system, rider, plan_deposit: int) -> dict:
    plan = {
        "rate_per_interval_minor": 150,
        "interval_seconds": 1800,
        "deposit_minor": plan_deposit,
        "deposit_waiver_score": 650,
    }
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", plan, system.operator()).ok
    body = {"city_id": CITY, "kind": "bike", "idempotency_key": uuid.uuid4().hex}
    order = system.post("/api/v1/deposits", body, rider).json()
    system.pay(order, repeat=2, delay_ms=20)
    system.wait_order(rider, order["id"], "paid")
    return order


def test_each_part_of_a_deposit_goes_back_through_the_gateway_that_took_it(system, second):
    system.bike()
    rider = system.rider()
    first = pay_deposit(system, rider, 20_000)
    assert first["gateway"] == "sandbox"
    system.platform.payment_gateway = second.client  # the operator now takes another provider
    later = pay_deposit(system, rider, 29_900)
    assert (later["gateway"], later["amount_minor"]) == (SECOND, 9_900)
    books_balance(system)

    key = {"currency": "CNY", "idempotency_key": uuid.uuid4().hex}
    answer = system.post("/api/v1/deposits/refunds", key, rider)
    assert answer.status_code == 202, answer.text
    parts = {part["payment_id"]: part["amount_minor"] for part in answer.json()["refunds"]}
    assert parts == {first["id"]: 20_000, later["id"]: 9_900}
    eventually(
        lambda: refund_states(system, "/api/v1/deposits/refunds", key, rider) == {"succeeded"},
        what="both refunds to succeed",
    )
    assert refunded_at(system.gateway_app, first["id"]) == 20_000
    assert refunded_at(second.app, later["id"]) == 9_900
    assert balance(system, rider)["deposit_minor"] == 0
    books_balance(system)


def test_a_withdrawal_goes_back_through_each_top_ups_gateway_and_the_books_balance(system, second):
    rider = system.rider(credit_minor=0)
    older = top_up(system, rider, 3000)
    system.pay(older, repeat=2, delay_ms=20)
    system.wait_order(rider, older["id"], "paid")
    system.platform.payment_gateway = second.client
    newer = top_up(system, rider, 1000)
    assert newer["gateway"] == SECOND
    system.pay(newer, repeat=3, delay_ms=20)
    system.wait_order(rider, newer["id"], "paid")
    assert balance(system, rider)["balance_minor"] == 4000
    books_balance(system)

    too_much = system.post(
        "/api/v1/wallet/withdrawals", {"amount_minor": 4001, "idempotency_key": "w" * 12}, rider
    )
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (
        409,
        "insufficient_balance",
    )
    # The first gateway refuses its part; the second pays its part back and says so three
    # times, late.
    system.gateway_faults(fail_refunds=True)
    second.app.extensions["gateway"].faults.repeat = 3
    second.app.extensions["gateway"].faults.delay_ms = 30
    request = {"amount_minor": 2500, "currency": "CNY", "idempotency_key": uuid.uuid4().hex}
    try:
        answer = system.post("/api/v1/wallet/withdrawals", request, rider)
        assert answer.status_code == 202, answer.text
        parts = {part["payment_id"]: part for part in answer.json()["refunds"]}
        assert {key: part["amount_minor"] for key, part in parts.items()} == {
            newer["id"]: 1000,
            older["id"]: 1500,
        }
        eventually(
            lambda: balance(system, rider)["balance_minor"] == 3000,
            what="the refused part back in the wallet",
        )
        eventually(
            lambda: (
                refund_states(system, "/api/v1/wallet/withdrawals", request, rider)
                == {"succeeded", "failed"}
            ),
            what="both parts settled",
        )
    finally:
        system.gateway_faults()
    assert refunded_at(second.app, newer["id"]) == 1000
    assert refunded_at(system.gateway_app, older["id"]) == 0

    # A stale refusal of the part already paid back changes nothing.
    paid_back = parts[newer["id"]]
    event = {
        "event": "refund.failed",
        "trade_no": newer["pay_url"].rsplit("/", 1)[-1],
        "refund_id": paid_back["id"],
        "amount_minor": 1000,
        "currency": "CNY",
    }
    assert notify_second(system, second, event).json() == {"result": "success"}
    assert balance(system, rider)["balance_minor"] == 3000
    again = system.post("/api/v1/wallet/withdrawals", request, rider).json()["refunds"]
    assert {part["id"] for part in again} == {part["id"] for part in parts.values()}
    assert balance(system, rider)["balance_minor"] == 3000
    books_balance(system)


def notify_second(system, second, event):
    body = json.dumps(event).encode()
    return system.http.post(
        f"{system.url}/api/v1/payments/notify/{SECOND}",
        data=body,
        headers=signed_headers(second.secret, body),
    )
