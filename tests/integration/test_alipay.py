"""Alipay through its adapter and SDK against a local Alipay (tests/providers/fake_alipay.py),
on the test database: notifications posted to the app's real endpoint, signed as Alipay
signs them; refunds settled in Alipay's answer; the day's bill read from its zip. The books
balance after each test (the `clean_database` fixture checks)."""

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from rental.adapters.alipay_gateway import AlipayGateway
from rental.adapters.cny import BEIJING
from rental.bootstrap import Platform
from rental.services.wallet import books
from tests.helpers import BIKE_PRICE, CITY, make_city
from tests.providers.fake_alipay import FakeAlipay, new_key, private_pem, public_pem
from tests.providers.rider_app import RiderApp, gateway_in_use

FORM = "application/x-www-form-urlencoded"
DETAIL_CSV = Path(__file__).parent.parent / "providers" / "alipay_detail.csv"


@pytest.fixture
def alipay(platform) -> Iterator[FakeAlipay]:
    fake = FakeAlipay()
    gateway = AlipayGateway.from_settings(
        fake.app_id, private_pem(fake.app_key), public_pem(fake.alipay_key), fake.gateway_url
    )
    with gateway_in_use(platform, gateway):
        yield fake
    fake.stop()


@pytest.fixture
def app(platform) -> RiderApp:
    return RiderApp(platform)


def opened(app: RiderApp, alipay: FakeAlipay, amount_minor: int):
    order = app.top_up(amount_minor)
    assert order["gateway"] == "alipay" and order["state"] == "pending"
    return order, alipay.open(order["pay_url"])


def paid(app: RiderApp, alipay: FakeAlipay, amount_minor: int) -> dict:
    order, _ = opened(app, alipay, amount_minor)
    answer = app.notify("alipay", alipay.pay(order["id"]), FORM)
    assert answer.status_code == 200, answer.text
    return order


def test_a_top_up_paid_at_alipay_is_credited_once_and_answered_success(app, alipay, platform):
    order, trade = opened(app, alipay, 1234)
    assert order["pay_url"].startswith(alipay.gateway_url + "?")
    assert trade.total_amount == "12.34"  # yuan, exactly
    assert trade.notify_url.endswith("/api/v1/payments/notify/alipay")
    body = alipay.pay(order["id"])

    for _ in range(3):  # Alipay repeats until it reads `success`
        answer = app.notify("alipay", body, FORM)
        assert (answer.status_code, answer.data) == (200, b"success")
        assert answer.content_type.startswith("text/plain")

    assert app.balance() == 1234
    assert app.order(order["id"])["state"] == "paid"
    queried = [r for r in alipay.requests if r["method"] == "alipay.trade.query"]
    assert len(queried) == 1  # the first news is confirmed by a query; repeats are not
    assert books(platform.uow()).balanced


def test_amounts_are_sent_in_exact_yuan(app, alipay):
    _, trade = opened(app, alipay, 115)  # int(1.15 * 100) is 114 in floats
    assert trade.total_amount == "1.15"


def test_a_notification_for_another_amount_credits_nothing(app, alipay):
    order, trade = opened(app, alipay, 1000)
    alipay.pay(order["id"])
    answer = app.notify("alipay", alipay.notification(trade, total_amount="100.00"), FORM)
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "amount_mismatch")
    assert app.balance() == 0


def test_a_trade_number_alipay_never_issued_credits_nothing(app, alipay):
    order, trade = opened(app, alipay, 1000)
    body = alipay.notification(trade, trade_no="T-NOT-REAL", trade_status="TRADE_SUCCESS")
    answer = app.notify("alipay", body, FORM)
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "trade_not_confirmed")
    assert app.balance() == 0
    assert app.order(order["id"])["state"] == "pending"


def test_notifications_not_signed_by_alipay_for_our_app_are_refused(app, alipay):
    order, trade = opened(app, alipay, 1000)
    alipay.pay(order["id"])
    forged = alipay.notification(trade)
    forged_fields = dict(
        pair.split("=", 1) for pair in alipay.notification(trade).decode().split("&")
    )
    other_key = alipay.signed_form(
        {k: v for k, v in forged_fields.items() if k not in ("sign", "sign_type")}, new_key()
    )
    tampered = forged.replace(b"total_amount=10.00", b"total_amount=1.00", 1)
    other_app = alipay.notification(trade, app_id="2021000000000000")
    for body in (other_key, tampered, other_app, b"trade_status=TRADE_SUCCESS"):
        answer = app.notify("alipay", body, FORM)
        assert (answer.status_code, answer.json["error"]["code"]) == (400, "invalid_signature")
    assert app.balance() == 0


def test_states_that_need_nothing_are_acknowledged_and_dropped(app, alipay):
    order, trade = opened(app, alipay, 1000)
    answer = app.notify("alipay", alipay.notification(trade, trade_status="WAIT_BUYER_PAY"), FORM)
    assert (answer.status_code, answer.data) == (200, b"success")
    assert app.order(order["id"])["state"] == "pending"


def test_a_closed_trade_fails_the_order_and_a_later_payment_still_counts(app, alipay):
    order, trade = opened(app, alipay, 1500)
    trade.trade_no, trade.status = "2026120122001400000000000001", "TRADE_CLOSED"
    answer = app.notify("alipay", alipay.notification(trade), FORM)
    assert answer.status_code == 200, answer.text
    assert app.order(order["id"])["state"] == "failed"
    trade.status = "TRADE_SUCCESS"  # reordered: the payment's news comes after the close
    answer = app.notify("alipay", alipay.notification(trade), FORM)
    assert answer.status_code == 200, answer.text
    assert app.balance() == 1500


def test_finished_before_success_credits_once(app, alipay):
    order, trade = opened(app, alipay, 800)
    success = alipay.pay(order["id"])
    finished = alipay.notification(trade, trade_status="TRADE_FINISHED")
    for body in (finished, success, finished):
        assert app.notify("alipay", body, FORM).status_code == 200
    assert app.balance() == 800


def test_a_withdrawal_is_refunded_by_alipay_in_its_answer(app, alipay, platform):
    order = paid(app, alipay, 2000)
    answer = app.withdraw(700, key="withdraw-once")
    assert answer.status_code == 202, answer.text
    [refund] = answer.json["refunds"]
    assert (refund["state"], refund["amount_minor"]) == ("succeeded", 700)
    trade = alipay.trades[order["id"]]
    assert trade.refunds == {refund["id"]: "7.00"}  # out_request_no is our refund id

    repeat = app.withdraw(700, key="withdraw-once")
    assert repeat.json["refunds"] == answer.json["refunds"]
    assert trade.refunds == {refund["id"]: "7.00"}
    assert app.balance() == 1300
    # Alipay also notifies the refund on the trade: already settled, it is acknowledged.
    news = alipay.notification(trade, refund_fee="7.00", out_biz_no=refund["id"])
    assert (app.notify("alipay", news, FORM).data, app.balance()) == (b"success", 1300)
    assert books(platform.uow()).balanced


def test_a_refund_alipay_refuses_gives_the_money_back_to_the_wallet(app, alipay, platform):
    paid(app, alipay, 2000)
    alipay.refusing_refunds = True
    answer = app.withdraw(500)
    assert answer.status_code == 202, answer.text
    assert [r["state"] for r in answer.json["refunds"]] == ["failed"]
    assert app.balance() == 2000
    assert books(platform.uow()).balanced


def test_a_refund_repeated_at_alipay_is_settled_through_its_refund_query(app, alipay, platform):
    order = paid(app, alipay, 1000)
    gateway = platform.payment_gateways["alipay"]
    answer = app.withdraw(300)
    [refund] = answer.json["refunds"]
    # Asked again with the same request number, Alipay answers fund_change N: no new money
    # moves, and the refund query says it was paid.
    with platform.uow() as uow:
        stored_refund = uow.payments.refund(_uuid(refund["id"]))
        stored_order = uow.payments.order(_uuid(order["id"]))
    settled = gateway.request_refund(stored_refund, stored_order, "http://127.0.0.1/notify")
    assert (settled.event, settled.amount_minor, settled.reference) == (
        "refund.succeeded",
        300,
        refund["id"],
    )
    assert alipay.trades[order["id"]].refunds == {refund["id"]: "3.00"}


@pytest.mark.parametrize(
    ("lost", "state", "balance"), [("after", "succeeded", 700), ("before", "failed", 1000)]
)
def test_a_refund_whose_answer_is_lost_is_settled_by_what_alipay_says_of_it(
    app, alipay, platform, lost, state, balance
):
    order = paid(app, alipay, 1000)
    alipay.losing_refund_answers = lost
    answer = app.withdraw(300)
    assert [r["state"] for r in answer.json["refunds"]] == [state]
    paid_back = sum(int(a.replace(".", "")) for a in alipay.trades[order["id"]].refunds.values())
    assert paid_back + app.balance() == 1000  # never both refunded and back in the wallet
    assert app.balance() == balance
    assert books(platform.uow()).balanced


def test_a_deposit_paid_at_alipay_goes_back_in_alipays_answer(app, alipay, platform):
    city = city_asking_a_deposit(platform, 9900)
    order = app.deposit(city)
    alipay.open(order["pay_url"])
    assert app.notify("alipay", alipay.pay(order["id"]), FORM).status_code == 200
    assert app.deposit_held() == 9900
    answer = app.refund_deposit("deposit-back")
    assert answer.status_code == 202, answer.text
    assert [r["state"] for r in answer.json["refunds"]] == ["succeeded"]
    assert list(alipay.trades[order["id"]].refunds.values()) == ["99.00"]
    assert (app.deposit_held(), app.balance()) == (0, 0)
    assert books(platform.uow()).balanced


def test_the_days_bill_is_read_from_alipays_gbk_zip(alipay, platform):
    # Alipay's documented 业务明细 layout: `#` lines around a header and the rows, with the
    # trailing tabs Alipay writes to keep numbers as text.
    alipay.add_bill("2026-11-30", DETAIL_CSV.read_text(encoding="utf-8"))
    gateway = platform.payment_gateways["alipay"]
    lines = gateway.statement(date(2026, 11, 30))
    assert [(x.kind, x.trade_no, x.reference, x.amount_minor) for x in lines] == [
        ("payment", "2026113022001400001111111111", "ORDER-A", 1234),
        ("refund", "2026113022001400001111111111", "REFUND-A", 500),
    ]
    assert lines[0].at == datetime(2026, 11, 30, 10, 0, 5, tzinfo=BEIJING)
    assert {x.currency for x in lines} == {"CNY"}


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def test_the_platform_offers_alipay_once_its_app_id_and_key_files_are_set(platform, tmp_path):
    fake_keys = FakeAlipay()
    fake_keys.stop()
    private, public = tmp_path / "app.pem", tmp_path / "alipay.pem"
    private.write_text(private_pem(fake_keys.app_key))
    public.write_text(public_pem(fake_keys.alipay_key))
    settings = {
        "ALIPAY_APP_ID": fake_keys.app_id,
        "ALIPAY_APP_PRIVATE_KEY": str(private),
        "ALIPAY_PUBLIC_KEY": str(public),
        "ALIPAY_GATEWAY_URL": fake_keys.gateway_url,
    }
    configured = Platform(replace(platform.config, **settings))
    try:
        gateway = configured.payment_gateways["alipay"]
        assert (gateway.app_id, gateway.gateway_url) == (fake_keys.app_id, fake_keys.gateway_url)
        assert configured.payment_gateway.name == "sandbox"  # new payments: unchanged
    finally:
        configured.dispose()
    unconfigured = Platform(platform.config)
    assert "alipay" not in unconfigured.payment_gateways
    unconfigured.dispose()


def city_asking_a_deposit(platform, deposit_minor: int) -> str:
    make_city(platform)
    with platform.uow() as uow:
        uow.pricing_plans.publish(CITY, "bike", BIKE_PRICE, deposit_minor=deposit_minor)
        uow.commit()
    return CITY
