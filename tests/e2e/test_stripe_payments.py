"""Stripe, offline: Stripe's HTTP API is a local fake built from its documented objects
(tests/stripe_fake.py), its webhooks are signed here with a secret made for the test,
exactly as Stripe signs them, and posted to the platform's real endpoint; the books
balance after each step."""

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from rental.adapters.stripe_gateway import StripeGateway
from tests.e2e.test_payments import balance
from tests.helpers import CITY, eventually, make_city
from tests.stripe_fake import API_KEY, FakeStripe, stripe_signature

NOTIFY = "/api/v1/payments/notify/stripe"


def stripe_gateway(fake: FakeStripe, system) -> StripeGateway:
    """The platform's Stripe adapter, pointed at the fake."""
    return StripeGateway(
        api_key=API_KEY,
        webhook_secret=fake.webhook_secret,
        return_url=f"{system.url}/app/",
        api_base=fake.url,
        files_base=fake.url,
        report_poll_seconds=0.05,
    )


@pytest.fixture
def stripe_fake(system) -> Iterator[FakeStripe]:
    fake = FakeStripe()
    first = system.platform.payment_gateway
    system.platform.payment_gateway = stripe_gateway(fake, system)  # new payments: Stripe
    yield fake
    system.platform.payment_gateway = first
    system.platform.payment_gateways.pop("stripe", None)
    fake.stop()


def post_event(system, fake, body: bytes, *, secret=None, timestamp=None):
    signature = stripe_signature(secret or fake.webhook_secret, body, timestamp)
    return system.http.post(
        system.url + NOTIFY,
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def stripe_top_up(system, rider, amount: int, currency: str = "CNY") -> dict:
    body = {"amount_minor": amount, "currency": currency, "idempotency_key": uuid.uuid4().hex}
    answer = system.post("/api/v1/wallet/top-ups", body, rider)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def books_balance(system) -> None:
    report = system.get("/api/v1/ops/books", system.operator()).json()
    assert report["balanced"] is True, report


def paid_through_stripe(system, fake, rider, amount: int) -> tuple[dict, dict]:
    order = stripe_top_up(system, rider, amount)
    session = fake.session_for(order["id"])
    intent = fake.pay(session["id"])
    answer = post_event(system, fake, fake.event("checkout.session.completed", session))
    assert answer.status_code == 200, answer.text
    return order, intent


def test_a_checkout_payment_is_credited_once_whatever_order_and_how_often_stripe_reports_it(
    system, stripe_fake
):
    rider = system.rider(credit_minor=0)
    order = stripe_top_up(system, rider, 2500)
    assert order["gateway"] == "stripe" and order["state"] == "pending"
    session = stripe_fake.session_for(order["id"])
    assert order["pay_url"] == session["url"]
    assert (session["amount_total"], session["currency"]) == (2500, "cny")
    intent = stripe_fake.pay(session["id"])

    # The PaymentIntent's event first, then the session's, twice: credited once.
    answers = [
        post_event(system, stripe_fake, stripe_fake.event("payment_intent.succeeded", intent)),
        post_event(system, stripe_fake, stripe_fake.event("checkout.session.completed", session)),
        post_event(system, stripe_fake, stripe_fake.event("checkout.session.completed", session)),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"result": "success"})] * 3
    assert balance(system, rider)["balance_minor"] == 2500
    # The first news was checked with Stripe, once: the others were repeats.
    assert stripe_fake.calls.count(f"GET /v1/payment_intents/{intent['id']}") == 1
    with system.platform.uow() as uow:
        assert uow.payments.order(uuid.UUID(order["id"])).trade_no == intent["id"]
    # A stale failure after the success changes nothing.
    failed = {**intent, "status": "requires_payment_method"}
    late = post_event(
        system, stripe_fake, stripe_fake.event("payment_intent.payment_failed", failed)
    )
    assert late.status_code == 200
    assert system.get(f"/api/v1/payments/{order['id']}", rider).json()["state"] == "paid"
    books_balance(system)


def test_a_zero_decimal_currency_is_sent_to_stripe_as_it_is(system, stripe_fake):
    rider = system.rider(credit_minor=0)
    order = stripe_top_up(system, rider, 1300, currency="JPY")
    session = stripe_fake.session_for(order["id"])
    assert (session["amount_total"], session["currency"]) == (1300, "jpy")  # ¥1,300


def test_forged_stale_wrong_and_unknown_events_credit_nothing(system, stripe_fake):
    rider = system.rider(credit_minor=0)
    order = stripe_top_up(system, rider, 1800)
    session = stripe_fake.session_for(order["id"])
    intent = stripe_fake.pay(session["id"])
    completed = stripe_fake.event("checkout.session.completed", session)

    def refused(answer, status: int, code: str) -> None:
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text

    refused(
        post_event(system, stripe_fake, completed, secret="whsec_not_ours"),
        400,
        "invalid_signature",
    )
    stale = int(time.time()) - 301  # beyond Stripe's tolerance of 300 s
    refused(post_event(system, stripe_fake, completed, timestamp=stale), 400, "invalid_signature")
    unsigned = system.http.post(system.url + NOTIFY, data=completed)
    refused(unsigned, 400, "invalid_signature")
    tampered = completed.replace(b'"amount_total": 1800', b'"amount_total": 1900')
    refused(post_event(system, stripe_fake, tampered), 400, "amount_mismatch")
    # A PaymentIntent Stripe never issued, naming our order: Stripe, asked, has no such one.
    never = {**intent, "id": "pi_NOT_REAL"}
    forged = stripe_fake.event("payment_intent.succeeded", never)
    refused(post_event(system, stripe_fake, forged), 400, "trade_not_confirmed")
    # An event the platform does not act on is acknowledged and dropped.
    ignored = post_event(system, stripe_fake, stripe_fake.event("charge.succeeded", intent))
    assert (ignored.status_code, ignored.json()) == (200, {"result": "success"})
    assert balance(system, rider)["balance_minor"] == 0
    assert system.get(f"/api/v1/payments/{order['id']}", rider).json()["state"] == "pending"
    books_balance(system)

    assert post_event(system, stripe_fake, completed).status_code == 200  # the true one
    assert balance(system, rider)["balance_minor"] == 1800
    # Once paid on its PaymentIntent, another trade named for the order is refused.
    refused(post_event(system, stripe_fake, forged), 400, "trade_mismatch")
    assert balance(system, rider)["balance_minor"] == 1800
    books_balance(system)


def test_an_expired_checkout_fails_the_order_and_a_late_payment_still_credits(system, stripe_fake):
    rider = system.rider(credit_minor=0)
    order = stripe_top_up(system, rider, 900)
    session = stripe_fake.session_for(order["id"])
    expired = {**session, "status": "expired"}
    answer = post_event(system, stripe_fake, stripe_fake.event("checkout.session.expired", expired))
    assert answer.status_code == 200, answer.text
    assert system.get(f"/api/v1/payments/{order['id']}", rider).json()["state"] == "failed"
    stripe_fake.pay(session["id"])
    late = post_event(system, stripe_fake, stripe_fake.event("checkout.session.completed", session))
    assert late.status_code == 200, late.text
    assert balance(system, rider)["balance_minor"] == 900
    books_balance(system)


def test_a_withdrawal_is_refunded_through_stripe_and_the_sandbox_each_for_its_own_top_up(
    system, stripe_fake
):
    rider = system.rider(credit_minor=0)
    stripe_order, intent = paid_through_stripe(system, stripe_fake, rider, 3000)
    stripe_gateway = system.platform.payment_gateway
    system.platform.payment_gateway = system.platform.payment_gateways["sandbox"]
    sandbox_order = stripe_top_up(system, rider, 1000)
    assert sandbox_order["gateway"] == "sandbox"
    system.pay(sandbox_order)
    system.wait_order(rider, sandbox_order["id"], "paid")
    system.platform.payment_gateway = stripe_gateway
    books_balance(system)

    request = {"amount_minor": 1800, "currency": "CNY", "idempotency_key": uuid.uuid4().hex}
    answer = system.post("/api/v1/wallet/withdrawals", request, rider)
    assert answer.status_code == 202, answer.text
    parts = {part["payment_id"]: part for part in answer.json()["refunds"]}
    # Newest first: all of the sandbox's 1000, then 800 of Stripe's.
    assert {key: part["amount_minor"] for key, part in parts.items()} == {
        sandbox_order["id"]: 1000,
        stripe_order["id"]: 800,
    }
    # Stripe settled its refund in its answer; the sandbox reports later.
    assert parts[stripe_order["id"]]["state"] == "succeeded"
    (refund,) = stripe_fake.refunds.values()
    assert (refund["payment_intent"], refund["amount"]) == (intent["id"], 800)
    assert refund["metadata"]["refund_id"] == parts[stripe_order["id"]]["id"]
    eventually(lambda: balance(system, rider)["balance_minor"] == 2200, what="both parts withdrawn")
    # Stripe's own events about the refund, repeated, change nothing.
    for kind in ("refund.created", "refund.updated", "charge.refund.updated"):
        answer = post_event(system, stripe_fake, stripe_fake.event(kind, refund))
        assert answer.status_code == 200, answer.text
    assert balance(system, rider)["balance_minor"] == 2200
    books_balance(system)


def test_a_pending_stripe_refund_settles_by_its_event_and_a_failed_one_returns_the_money(
    system, stripe_fake
):
    rider = system.rider(credit_minor=0)
    paid_through_stripe(system, stripe_fake, rider, 2000)
    stripe_fake.refund_status = "pending"
    for amount in (500, 700):
        request = {"amount_minor": amount, "idempotency_key": uuid.uuid4().hex}
        answer = system.post("/api/v1/wallet/withdrawals", request, rider)
        assert answer.status_code == 202, answer.text
        assert [part["state"] for part in answer.json()["refunds"]] == ["processing"]
    assert balance(system, rider)["balance_minor"] == 800
    first, second = stripe_fake.refunds.values()
    pending = post_event(system, stripe_fake, stripe_fake.event("refund.updated", first))
    assert pending.status_code == 200  # still pending: nothing to do
    done = {**first, "status": "succeeded"}
    assert post_event(system, stripe_fake, stripe_fake.event("refund.updated", done)).ok
    refused = {**second, "status": "failed"}
    assert post_event(system, stripe_fake, stripe_fake.event("charge.refund.updated", refused)).ok
    assert balance(system, rider)["balance_minor"] == 800 + 700  # the failed part came back
    # Its amount cannot be changed by a later word: the refund is settled.
    wrong = {**first, "status": "succeeded", "amount": 400}
    assert post_event(system, stripe_fake, stripe_fake.event("refund.updated", wrong)).ok
    assert balance(system, rider)["balance_minor"] == 1500
    books_balance(system)


def test_stripe_events_are_read_from_the_raw_body(system, stripe_fake):
    """Re-serialised JSON (other spacing) is not what Stripe signed: refused."""
    rider = system.rider(credit_minor=0)
    order = stripe_top_up(system, rider, 1200)
    session = stripe_fake.session_for(order["id"])
    stripe_fake.pay(session["id"])
    body = stripe_fake.event("checkout.session.completed", session)
    signature = stripe_signature(stripe_fake.webhook_secret, body)
    respaced = json.dumps(json.loads(body), separators=(",", ":")).encode()
    answer = system.http.post(
        system.url + NOTIFY,
        data=respaced,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert balance(system, rider)["balance_minor"] == 0


def test_a_deposit_paid_through_stripe_is_refunded_through_stripe(system, stripe_fake):
    make_city(system.platform)
    plan = {
        "rate_per_interval_minor": 150,
        "interval_seconds": 1800,
        "deposit_minor": 19900,
        "deposit_waiver_score": 650,
    }
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", plan, system.operator()).ok
    rider = system.rider(credit_minor=0)
    body = {"city_id": CITY, "kind": "bike", "idempotency_key": uuid.uuid4().hex}
    order = system.post("/api/v1/deposits", body, rider).json()
    assert (order["gateway"], order["amount_minor"]) == ("stripe", 19900)
    session = stripe_fake.session_for(order["id"])
    intent = stripe_fake.pay(session["id"])
    paid = post_event(system, stripe_fake, stripe_fake.event("checkout.session.completed", session))
    assert paid.status_code == 200, paid.text
    assert balance(system, rider)["deposit_minor"] == 19900
    books_balance(system)

    stripe_fake.refund_status = "pending"
    request = {"currency": "CNY", "idempotency_key": uuid.uuid4().hex}
    answer = system.post("/api/v1/deposits/refunds", request, rider)
    assert answer.status_code == 202, answer.text
    assert [part["state"] for part in answer.json()["refunds"]] == ["processing"]
    (refund,) = stripe_fake.refunds.values()
    assert (refund["payment_intent"], refund["amount"]) == (intent["id"], 19900)
    settled = {**refund, "status": "succeeded"}
    for _ in range(2):  # repeated: settled once
        event = stripe_fake.event("refund.updated", settled)
        assert post_event(system, stripe_fake, event).status_code == 200
    again = system.post("/api/v1/deposits/refunds", request, rider).json()
    assert [part["state"] for part in again["refunds"]] == ["succeeded"]
    assert balance(system, rider)["deposit_minor"] == 0
    books_balance(system)
