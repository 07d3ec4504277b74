"""A rider who paid through both Alipay and WeChat Pay: a withdrawal goes back through
each provider that took the money, newest top-up first, each settled the provider's way
(Alipay in its answer, WeChat Pay by its notification); the books balance throughout."""

import uuid
from collections.abc import Iterator

import pytest

from rental.adapters.alipay_gateway import AlipayGateway
from rental.services.wallet import books
from tests.integration.test_wechatpay import gateway_for
from tests.providers.fake_alipay import FakeAlipay, private_pem, public_pem
from tests.providers.fake_wechatpay import FakeWechatPay
from tests.providers.rider_app import RiderApp


@pytest.fixture
def providers(platform) -> Iterator[tuple[FakeAlipay, FakeWechatPay]]:
    alipay, wechat = FakeAlipay(), FakeWechatPay()
    first = platform.payment_gateway
    platform.payment_gateways["alipay"] = AlipayGateway.from_settings(
        alipay.app_id,
        private_pem(alipay.app_key),
        public_pem(alipay.alipay_key),
        alipay.gateway_url,
    )
    platform.payment_gateways["wechatpay"] = gateway_for(wechat)
    yield alipay, wechat
    platform.payment_gateway = first
    for name in ("alipay", "wechatpay"):
        platform.payment_gateways.pop(name, None)
    alipay.stop()
    wechat.stop()


def test_a_withdrawal_goes_back_through_each_provider_that_took_the_money(platform, providers):
    alipay, wechat = providers
    app = RiderApp(platform)

    platform.payment_gateway = platform.payment_gateways["alipay"]
    by_alipay = app.top_up(1000)
    alipay.open(by_alipay["pay_url"])
    assert (
        app.notify("alipay", alipay.pay(by_alipay["id"]), "application/x-www-form-urlencoded").data
        == b"success"
    )
    platform.payment_gateway = platform.payment_gateways["wechatpay"]
    by_wechat = app.top_up(1000)
    headers, body = wechat.pay(uuid.UUID(by_wechat["id"]).hex)
    assert app.notify("wechatpay", body, "application/json", headers).status_code == 204
    assert app.balance() == 2000

    answer = app.withdraw(1500, key="both-providers")
    assert answer.status_code == 202, answer.text
    refunds = {r["payment_id"]: r for r in answer.json["refunds"]}
    assert {k: (r["amount_minor"], r["state"]) for k, r in refunds.items()} == {
        by_wechat["id"]: (1000, "processing"),  # the newest top-up first
        by_alipay["id"]: (500, "succeeded"),  # Alipay pays it in its answer
    }
    assert list(alipay.trades[by_alipay["id"]].refunds.values()) == ["5.00"]
    assert books(platform.uow()).balanced

    wechat_refund = refunds[by_wechat["id"]]["id"]
    headers, body = wechat.settle_refund(wechat_refund)
    assert app.notify("wechatpay", body, "application/json", headers).status_code == 204
    states = {r["state"] for r in app.withdraw(1500, key="both-providers").json["refunds"]}
    assert (states, app.balance()) == ({"succeeded"}, 500)
    assert books(platform.uow()).balanced
