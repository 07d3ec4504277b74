"""WeChat Pay API v3 through its adapter and the `wechatpayv3` SDK against a local WeChat
Pay (tests/providers/fake_wechatpay.py), on the test database: the platform certificate
fetched and decrypted with the APIv3 key, every request signed and every answer verified;
notifications encrypted and signed as WeChat Pay sends them, posted to the app's real
endpoint; refunds settled by their notifications; the day's bill read from its gzip. The
books balance after each test (the `clean_database` fixture checks)."""

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from rental.adapters.cny import BEIJING
from rental.adapters.wechatpay_gateway import WechatPayGateway
from rental.bootstrap import Platform
from rental.services.ports import GatewayError
from rental.services.wallet import books
from tests.helpers import BIKE_PRICE, CITY, make_city
from tests.providers.fake_alipay import new_key
from tests.providers.fake_wechatpay import FakeWechatPay
from tests.providers.rider_app import RiderApp, gateway_in_use

JSON = "application/json"
TRADE_BILL = Path(__file__).parent.parent / "providers" / "wechatpay_tradebill.csv"


def gateway_for(fake: FakeWechatPay, **changes) -> WechatPayGateway:
    settings = {
        "merchant_id": fake.merchant_id,
        "app_id": fake.app_id,
        "private_key": fake.merchant_private_pem,
        "certificate_serial": fake.merchant_serial,
        "apiv3_key": fake.apiv3_key,
        "api_url": fake.api_url,
        "payer_address": lambda: "203.0.113.7",
        **changes,
    }
    return WechatPayGateway.from_settings(**settings)


@pytest.fixture
def wechat(platform) -> Iterator[FakeWechatPay]:
    fake = FakeWechatPay()
    gateway = gateway_for(fake)
    with gateway_in_use(platform, gateway):
        yield fake
    fake.stop()


@pytest.fixture
def app(platform) -> RiderApp:
    return RiderApp(platform)


def opened(app: RiderApp, wechat: FakeWechatPay, amount_minor: int):
    order = app.top_up(amount_minor)
    assert order["gateway"] == "wechatpay" and order["state"] == "pending"
    return order, wechat.transactions[uuid.UUID(order["id"]).hex]


def notify(app: RiderApp, signed: tuple[dict[str, str], bytes]):
    headers, body = signed
    return app.notify("wechatpay", body, JSON, headers)


def paid(app: RiderApp, wechat: FakeWechatPay, amount_minor: int) -> dict:
    order, trade = opened(app, wechat, amount_minor)
    answer = notify(app, wechat.pay(trade.out_trade_no))
    assert answer.status_code == 204, answer.text
    return order


def test_a_top_up_paid_with_wechat_pay_is_credited_once_and_answered_204(app, wechat, platform):
    order, trade = opened(app, wechat, 1234)
    assert order["pay_url"].startswith("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?")
    assert (trade.total, trade.payer_client_ip) == (1234, "203.0.113.7")
    assert trade.notify_url.endswith("/api/v1/payments/notify/wechatpay")
    signed = wechat.pay(trade.out_trade_no)

    for _ in range(3):  # WeChat Pay repeats until it reads 200 or 204
        answer = notify(app, signed)
        assert (answer.status_code, answer.data) == (204, b"")

    assert app.balance() == 1234
    assert app.order(order["id"])["state"] == "paid"
    queries = [p for m, p in wechat.requests if p.startswith("/v3/pay/transactions/id/")]
    assert queries == [f"/v3/pay/transactions/id/{trade.transaction_id}"]
    assert ("GET", "/v3/certificates") in wechat.requests and wechat.refused == 0
    assert books(platform.uow()).balanced


def test_a_notification_for_another_amount_credits_nothing(app, wechat):
    _, trade = opened(app, wechat, 1000)
    wechat.pay(trade.out_trade_no)
    record = wechat.transaction(trade, amount={"total": 1, "currency": "CNY"})
    answer = notify(app, wechat.notification("TRANSACTION.SUCCESS", record))
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "amount_mismatch")
    assert app.balance() == 0


def test_a_transaction_wechat_pay_never_issued_credits_nothing(app, wechat):
    order, trade = opened(app, wechat, 1000)
    record = wechat.transaction(trade, transaction_id="T-NOT-REAL", trade_state="SUCCESS")
    answer = notify(app, wechat.notification("TRANSACTION.SUCCESS", record))
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "trade_not_confirmed")
    assert (app.balance(), app.order(order["id"])["state"]) == (0, "pending")


def test_notifications_not_signed_by_wechat_pay_or_stale_are_refused(app, wechat):
    _, trade = opened(app, wechat, 1000)
    wechat.pay(trade.out_trade_no)
    record = wechat.transaction(trade)
    headers, body = wechat.notification("TRANSACTION.SUCCESS", record)
    forged = [
        wechat.notification("TRANSACTION.SUCCESS", record, key=new_key()),
        (headers, body.replace(b'"id": "', b'"id": "x', 1)),
        wechat.notification("TRANSACTION.SUCCESS", record, apiv3_key="k" * 32),
        wechat.notification("TRANSACTION.SUCCESS", {**record, "mchid": "1900000999"}),
        wechat.notification("TRANSACTION.SUCCESS", record, signed_at=int(time.time()) - 301),
        ({k: v for k, v in headers.items() if k != "Wechatpay-Signature"}, body),
    ]
    for signed in forged:
        answer = notify(app, signed)
        assert (answer.status_code, answer.json["error"]["code"]) == (400, "invalid_signature")
    assert app.balance() == 0
    assert notify(app, (headers, body)).status_code == 204  # the genuine one, still fresh
    assert app.balance() == 1000


def test_events_we_do_not_act_on_are_acknowledged_and_dropped(app, wechat):
    order, trade = opened(app, wechat, 1000)
    answer = notify(app, wechat.notification("TRANSACTION.CLOSED", wechat.transaction(trade)))
    assert (answer.status_code, app.order(order["id"])["state"]) == (204, "pending")


def test_a_withdrawal_is_refunded_when_wechat_pay_notifies_it(app, wechat, platform):
    order = paid(app, wechat, 2000)
    answer = app.withdraw(700, key="withdraw-once")
    assert answer.status_code == 202, answer.text
    [refund] = answer.json["refunds"]
    assert (refund["state"], refund["amount_minor"]) == ("processing", 700)
    trade = wechat.transactions[uuid.UUID(order["id"]).hex]
    assert list(trade.refunds) == [refund["id"]]  # out_refund_no is our refund id
    assert app.withdraw(700, key="withdraw-once").json == answer.json
    assert len(trade.refunds) == 1

    settled = wechat.settle_refund(refund["id"])
    for _ in range(2):  # repeated
        assert notify(app, settled).status_code == 204
    again = app.withdraw(700, key="withdraw-once").json["refunds"]
    assert [r["state"] for r in again] == ["succeeded"]
    assert app.balance() == 1300
    assert books(platform.uow()).balanced


def test_a_refund_wechat_pay_closes_gives_the_money_back(app, wechat, platform):
    order = paid(app, wechat, 2000)
    [refund] = app.withdraw(500).json["refunds"]
    assert app.balance() == 1500
    wrong = wechat.settle_refund(refund["id"])  # signed, but for another amount
    headers, body = wechat.notification(
        "REFUND.SUCCESS",
        {
            "mchid": wechat.merchant_id,
            "out_trade_no": uuid.UUID(order["id"]).hex,
            "transaction_id": wechat.transactions[uuid.UUID(order["id"]).hex].transaction_id,
            "out_refund_no": refund["id"],
            "refund_status": "SUCCESS",
            "amount": {"total": 2000, "refund": 50, "payer_total": 2000, "payer_refund": 50},
        },
    )
    answer = notify(app, (headers, body))
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "amount_mismatch")
    assert wrong  # the genuine SUCCESS stays unsent: WeChat Pay closes the refund instead
    assert notify(app, wechat.settle_refund(refund["id"], status="CLOSED")).status_code == 204
    assert app.balance() == 2000
    assert books(platform.uow()).balanced


def test_a_refund_notified_before_its_refund_exists_is_retried_later(app, wechat):
    order = paid(app, wechat, 1000)
    trade = wechat.transactions[uuid.UUID(order["id"]).hex]
    early = str(uuid.uuid4())
    trade.refunds[early] = {"refund_id": "5000", "amount": {"refund": 100}}
    answer = notify(app, wechat.settle_refund(early))
    assert (answer.status_code, answer.json["error"]["code"]) == (404, "payment_not_found")
    assert app.balance() == 1000


def test_a_refund_wechat_pay_refuses_gives_the_money_back_at_once(app, wechat, platform):
    order = paid(app, wechat, 1000)
    trade = wechat.transactions[uuid.UUID(order["id"]).hex]
    trade.refunds["earlier"] = {"refund_id": "1", "amount": {"refund": 1000}}  # all refunded
    answer = app.withdraw(400)
    assert [r["state"] for r in answer.json["refunds"]] == ["failed"]
    assert app.balance() == 1000
    assert books(platform.uow()).balanced


def test_a_deposit_paid_with_wechat_pay_goes_back_when_its_refund_is_notified(
    app, wechat, platform
):
    city = city_asking_a_deposit(platform, 9900)
    order = app.deposit(city)
    trade = wechat.transactions[uuid.UUID(order["id"]).hex]
    assert notify(app, wechat.pay(trade.out_trade_no)).status_code == 204
    assert app.deposit_held() == 9900
    [refund] = app.refund_deposit("deposit-back").json["refunds"]
    assert (refund["state"], app.deposit_held()) == ("processing", 0)
    assert notify(app, wechat.settle_refund(refund["id"])).status_code == 204
    states = [r["state"] for r in app.refund_deposit("deposit-back").json["refunds"]]
    assert (states, app.balance()) == (["succeeded"], 0)
    assert books(platform.uow()).balanced


def test_the_days_bill_is_read_from_wechat_pays_gzip_and_checked_by_its_hash(wechat):
    wechat.add_bill("2026-11-30", TRADE_BILL.read_text(encoding="utf-8"))
    gateway = gateway_for(wechat)
    lines = gateway.statement(date(2026, 11, 30))
    order_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert [(x.kind, x.trade_no, x.reference, x.amount_minor) for x in lines] == [
        ("payment", "4200001234202611300000000001", order_id, 1234),
        ("refund", "4200001234202611300000000001", "7c9e6679-7425-40de-944b-e07fc1f90ae7", 500),
    ]
    assert lines[1].at == datetime(2026, 11, 30, 18, 30, tzinfo=BEIJING)
    wechat.swapped_bills["2026-11-30"] = wechat.bills["2026-11-30"].replace(b"12.34", b"1.34")
    with pytest.raises(GatewayError, match="does not match its hash"):
        gateway.statement(date(2026, 11, 30))


def test_nothing_reaches_wechat_pay_until_the_gateway_is_first_used(wechat):
    gateway = gateway_for(wechat)
    assert wechat.requests == []
    with pytest.raises(GatewayError):
        gateway_for(wechat, api_url="http://127.0.0.1:9").query_payment("4200000000")
    assert gateway.query_payment("4200000000") is None  # fetches the certificate, then asks
    assert [path for _, path in wechat.requests] == [
        "/v3/certificates",
        "/v3/pay/transactions/id/4200000000",
    ]


def test_a_merchant_with_wechat_pays_public_key_needs_no_platform_certificate(app, platform):
    wechat = FakeWechatPay()
    wechat.public_key_id = "PUB_KEY_ID_0114232134912410000000000000"
    gateway = gateway_for(
        wechat, public_key=wechat.platform_public_pem, public_key_id=wechat.public_key_id
    )
    try:
        with gateway_in_use(platform, gateway):
            _, trade = opened(app, wechat, 600)
            assert notify(app, wechat.pay(trade.out_trade_no)).status_code == 204
            assert app.balance() == 600
            assert ("GET", "/v3/certificates") not in wechat.requests
            forged = wechat.notification(
                "TRANSACTION.SUCCESS", wechat.transaction(trade), key=new_key()
            )
            assert notify(app, forged).status_code == 400
    finally:
        wechat.stop()


def test_the_platform_offers_wechat_pay_once_its_merchant_id_is_set(platform, wechat, tmp_path):
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_text(wechat.merchant_private_pem)
    settings = {
        "WECHATPAY_MERCHANT_ID": wechat.merchant_id,
        "WECHATPAY_APP_ID": wechat.app_id,
        "WECHATPAY_PRIVATE_KEY": str(key_file),
        "WECHATPAY_CERTIFICATE_SERIAL": wechat.merchant_serial,
        "WECHATPAY_APIV3_KEY": wechat.apiv3_key,
        "WECHATPAY_API_URL": wechat.api_url,
    }
    configured = Platform(replace(platform.config, **settings))
    try:
        gateway = configured.payment_gateways["wechatpay"]
        assert gateway.query_payment("4200000001") is None
        assert wechat.refused == 0  # signed with the key read from the file
    finally:
        configured.dispose()
    with pytest.raises(ValueError, match="32 characters"):
        Platform(replace(platform.config, **{**settings, "WECHATPAY_APIV3_KEY": "short"}))


def city_asking_a_deposit(platform, deposit_minor: int) -> str:
    make_city(platform)
    with platform.uow() as uow:
        uow.pricing_plans.publish(CITY, "bike", BIKE_PRICE, deposit_minor=deposit_minor)
        uow.commit()
    return CITY
