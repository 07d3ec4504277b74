"""Money going back (deposit refunds, withdrawals of the wallet) through the gateway that
took it, with two sandbox gateways side by side; the books balance after each step,
whatever the gateways' notifications do."""

import threading
import uuid
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from rental.adapters.sandbox_gateway import SandboxGateway
from sandboxpay.server import create_gateway_app
from tests.e2e.test_payments import balance
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
