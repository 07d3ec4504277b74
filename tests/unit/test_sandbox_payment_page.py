"""The sandbox gateway's payer page shows the amount in the order's currency, by its ISO 4217
minor unit: a rider in Berlin, Tokyo or Kuwait reads what they are about to pay."""

import json

import pytest

from sandboxpay.server import create_gateway_app, shown_amount
from sandboxpay.signing import signed_headers

SECRET = b"sandbox test secret"


@pytest.mark.parametrize(
    ("amount_minor", "currency", "shown"),
    [
        (1000, "EUR", "10.00 EUR"),
        (5, "CNY", "0.05 CNY"),
        (130, "JPY", "130 JPY"),
        (1500, "KWD", "1.500 KWD"),
        (1234, "ZZZ", "12.34 ZZZ"),
    ],
)
def test_an_amount_is_shown_in_its_currencys_minor_unit(amount_minor, currency, shown):
    assert shown_amount(amount_minor, currency) == shown


def test_the_payer_page_shows_the_orders_amount_and_an_escaped_subject():
    client = create_gateway_app(SECRET).test_client()
    body = json.dumps(
        {
            "merchant_order_id": "order-1",
            "amount_minor": 130,
            "currency": "JPY",
            "notify_url": "http://127.0.0.1:9/notify",
            "subject": "top up <b>1</b>",
        }
    ).encode()
    created = client.post("/v1/orders", data=body, headers=signed_headers(SECRET, body))
    assert created.status_code == 201

    page = client.get(f"/pay/{created.get_json()['trade_no']}").get_data(as_text=True)

    assert "<h1>Pay 130 JPY</h1>" in page
    assert "top up &lt;b&gt;1&lt;/b&gt;" in page
