"""Providers' daily statements read into lines, and Stripe's amounts by its currency
table: the sandbox's CSV through its real HTTP server, Stripe's balance report from its
documented columns."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from werkzeug.serving import make_server

from rental.adapters.sandbox_gateway import SandboxGateway
from rental.adapters.stripe_gateway import (
    minor_from_report,
    minor_from_stripe,
    statement_lines,
    stripe_amount,
)
from rental.services.ports import GatewayError
from sandboxpay.server import create_gateway_app
from sandboxpay.signing import signed_headers

SECRET = b"statement test secret"


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxGateway, object]]:
    app = create_gateway_app(SECRET)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SandboxGateway(f"http://127.0.0.1:{server.server_port}", SECRET), app
    server.shutdown()


def test_the_sandbox_statement_lists_the_days_payments_and_refunds(sandbox):
    gateway, app = sandbox
    client = app.test_client()  # type: ignore[attr-defined]
    orders = []
    for number, amount in enumerate((1000, 250)):
        body = json.dumps(
            {
                "merchant_order_id": f"order-{number}",
                "amount_minor": amount,
                "currency": "CNY",
                "notify_url": "http://127.0.0.1:9/nowhere",
                "subject": "top up",
            }
        ).encode()
        orders.append(
            client.post("/v1/orders", data=body, headers=signed_headers(SECRET, body)).json
        )
    client.post(f"/pay/{orders[0]['trade_no']}", json={"outcome": "success"})
    client.post(f"/pay/{orders[1]['trade_no']}", json={"outcome": "failure"})
    refund = json.dumps(
        {
            "trade_no": orders[0]["trade_no"],
            "refund_id": "refund-1",
            "amount_minor": 400,
            "notify_url": "http://127.0.0.1:9/nowhere",
        }
    ).encode()
    client.post("/v1/refunds", data=refund, headers=signed_headers(SECRET, refund))

    lines = gateway.statement(datetime.now(UTC).date())

    assert [(x.kind, x.trade_no, x.reference, x.amount_minor, x.currency) for x in lines] == [
        ("payment", orders[0]["trade_no"], "order-0", 1000, "CNY"),
        ("refund", orders[0]["trade_no"], "refund-1", 400, "CNY"),
    ]
    assert all(line.at.tzinfo is not None for line in lines)
    assert gateway.statement(datetime(2020, 1, 1).date()) == []


def test_the_sandbox_statement_is_refused_without_the_merchants_signature(sandbox):
    gateway, _ = sandbox
    other = SandboxGateway(gateway.base_url, b"not the merchant")
    with pytest.raises(GatewayError):
        other.statement(datetime.now(UTC).date())


@pytest.mark.parametrize(
    ("minor", "currency", "sent"),
    [(1000, "CNY", 1000), (1300, "JPY", 1300), (5, "ISK", 500), (1500, "KWD", 1500)],
)
def test_amounts_go_to_stripe_by_its_currency_table_and_come_back(minor, currency, sent):
    assert stripe_amount(minor, currency) == sent
    assert minor_from_stripe(sent, currency) == minor


def test_a_three_decimal_amount_stripe_cannot_take_is_refused_before_asking():
    with pytest.raises(GatewayError):
        stripe_amount(1505, "KWD")


def test_report_amounts_in_major_units_become_minor_units():
    assert minor_from_report("12.50", "EUR") == 1250
    assert minor_from_report("-3.00", "CNY") == 300
    assert minor_from_report("1300", "JPY") == 1300
    with pytest.raises(ValueError):
        minor_from_report("12.345", "EUR")
    with pytest.raises(ValueError):
        minor_from_report("1.00", "XYZ")


def test_the_stripe_gateway_keeps_its_keys_out_of_its_repr():
    from rental.adapters.stripe_gateway import StripeGateway

    shown = repr(StripeGateway("sk_test_secret", "whsec_secret", "https://ride.example/app/"))
    assert "secret" not in shown and "ride.example" in shown


def test_a_balance_report_gives_its_charges_and_refunds_and_skips_fees():
    report = (
        "balance_transaction_id,created_utc,reporting_category,currency,gross,"
        "customer_facing_amount,customer_facing_currency,payment_intent_id,source_id,"
        "payment_metadata[order_id],refund_metadata[refund_id]\n"
        "txn_1,2026-11-30 08:00:00,charge,eur,25.00,25.00,eur,pi_1,ch_1,order-a,\n"
        "txn_2,2026-11-30 09:00:00,refund,eur,-5.00,5.00,eur,pi_1,re_1,,refund-b\n"
        "txn_3,2026-11-30 23:00:00,fee,eur,-0.30,,,,,,\n"
    )
    lines = statement_lines(report)
    assert [(x.kind, x.trade_no, x.reference, x.amount_minor, x.currency) for x in lines] == [
        ("payment", "pi_1", "order-a", 2500, "EUR"),
        ("refund", "pi_1", "refund-b", 500, "EUR"),
    ]
    assert lines[0].at == datetime(2026, 11, 30, 8, tzinfo=UTC)
