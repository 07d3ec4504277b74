"""Payment gateways per city, on the real database: an operator picks which configured
gateways a city offers and its default; a rider's top-up and deposit go through the one
asked for only when the city offers it; refunds go back through each order's own."""

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.test_operator_console import open_console
from tests.e2e.test_rider_app import signed_in
from tests.e2e.test_stripe_payments import post_event, stripe_gateway
from tests.helpers import CITY, make_city
from tests.stripe_fake import FakeStripe

PATH = f"/api/v1/ops/cities/{CITY}/payment-gateways"


@pytest.fixture
def stripe_too(system) -> Iterator[FakeStripe]:
    """Stripe configured beside the sandbox, which stays the platform's default."""
    fake = FakeStripe()
    gateway = stripe_gateway(fake, system)
    system.platform.payment_gateways[gateway.name] = gateway
    make_city(system.platform)
    yield fake
    system.platform.payment_gateways.pop(gateway.name, None)
    fake.stop()


def error_of(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_a_city_offers_the_platforms_default_gateway_until_an_operator_chooses(system, stripe_too):
    operator = system.operator()
    public = system.get(f"/api/v1/cities/{CITY}/payment-gateways").json()
    assert public == {"city_id": CITY, "gateways": ["sandbox"], "default": "sandbox"}
    settings = system.get(PATH, operator).json()
    assert settings["configured"] == ["sandbox", "stripe"]

    chosen = system.put(PATH, {"gateways": ["stripe", "sandbox"], "default": "stripe"}, operator)
    assert chosen.status_code == 200, chosen.text
    public = system.get(f"/api/v1/cities/{CITY}/payment-gateways").json()
    assert public == {"city_id": CITY, "gateways": ["stripe", "sandbox"], "default": "stripe"}

    not_configured = system.put(PATH, {"gateways": ["sandbox", "alipay"]}, operator)
    assert error_of(not_configured) == (400, "gateway_not_configured")
    assert "alipay" in not_configured.json()["error"]["message"]
    stray_default = system.put(PATH, {"gateways": ["sandbox"], "default": "stripe"}, operator)
    assert error_of(stray_default) == (400, "default_not_offered")
    twice = system.put(PATH, {"gateways": ["sandbox", "sandbox"]}, operator)
    assert error_of(twice) == (400, "invalid_gateways")
    rider = system.rider()
    assert system.put(PATH, {"gateways": ["sandbox"]}, rider).status_code == 403
    unknown_city = system.put(
        "/api/v1/ops/cities/nowhere/payment-gateways", {"gateways": ["sandbox"]}, operator
    )
    assert error_of(unknown_city) == (404, "city_not_found")
    # What failed changed nothing.
    assert system.get(f"/api/v1/cities/{CITY}/payment-gateways").json()["default"] == "stripe"


def test_a_top_up_and_a_deposit_go_through_the_gateway_asked_for_if_the_city_offers_it(
    system, stripe_too
):
    operator = system.operator()
    assert system.put(PATH, {"gateways": ["sandbox", "stripe"]}, operator).ok
    rider = system.rider(credit_minor=0)

    def top_up(**choice):
        body = {"amount_minor": 1000, "idempotency_key": uuid.uuid4().hex, **choice}
        return system.post("/api/v1/wallet/top-ups", body, rider)

    assert top_up(city_id=CITY).json()["gateway"] == "sandbox"  # the city's default
    by_card = top_up(city_id=CITY, gateway="stripe").json()
    assert by_card["gateway"] == "stripe"
    assert by_card["pay_url"] == stripe_too.session_for(by_card["id"])["url"]
    refused = top_up(city_id=CITY, gateway="alipay")
    assert error_of(refused) == (400, "gateway_not_offered")
    assert "alipay" in refused.json()["error"]["message"]
    # Without a city, only the platform's default gateway takes the money.
    assert error_of(top_up(gateway="stripe")) == (400, "gateway_not_offered")
    assert top_up().json()["gateway"] == "sandbox"

    plan = {
        "rate_per_interval_minor": 150,
        "interval_seconds": 1800,
        "deposit_minor": 9900,
        "deposit_waiver_score": 650,
    }
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", plan, operator).ok
    deposit = {"city_id": CITY, "kind": "bike", "idempotency_key": uuid.uuid4().hex}
    rider = system.rider(credit_minor=0)  # the first has three payments waiting
    # The operator takes Stripe off the city: a deposit may no longer go through it.
    assert system.put(PATH, {"gateways": ["sandbox"]}, operator).ok
    refused = system.post("/api/v1/deposits", {**deposit, "gateway": "stripe"}, rider)
    assert error_of(refused) == (400, "gateway_not_offered")
    assert system.put(PATH, {"gateways": ["sandbox", "stripe"]}, operator).ok
    order = system.post("/api/v1/deposits", {**deposit, "gateway": "stripe"}, rider)
    assert order.status_code == 201, order.text
    assert (order.json()["gateway"], order.json()["amount_minor"]) == ("stripe", 9900)


def test_money_taken_through_a_gateway_the_city_no_longer_offers_goes_back_through_it(
    system, stripe_too
):
    operator = system.operator()
    assert system.put(PATH, {"gateways": ["stripe"]}, operator).ok
    rider = system.rider(credit_minor=0)
    body = {"amount_minor": 1500, "idempotency_key": uuid.uuid4().hex, "city_id": CITY}
    order = system.post("/api/v1/wallet/top-ups", body, rider).json()
    session = stripe_too.session_for(order["id"])
    stripe_too.pay(session["id"])
    assert post_event(
        system, stripe_too, stripe_too.event("checkout.session.completed", session)
    ).ok
    assert system.put(PATH, {"gateways": ["sandbox"]}, operator).ok

    request = {"amount_minor": 1500, "idempotency_key": uuid.uuid4().hex}
    answer = system.post("/api/v1/wallet/withdrawals", request, rider)
    assert answer.status_code == 202, answer.text
    assert [part["state"] for part in answer.json()["refunds"]] == ["succeeded"]
    (refund,) = stripe_too.refunds.values()
    assert refund["amount"] == 1500
    report = system.get("/api/v1/ops/books", operator).json()
    assert report["balanced"] is True


def test_an_operator_picks_a_citys_gateways_in_the_console(system, tab, stripe_too):
    page = open_console(system, tab, f"cities?city={CITY}")
    form = page.locator("#city-gateways")
    expect(form.locator("[name=gateways][value=sandbox]")).to_be_checked()
    form.locator("[name=gateways][value=stripe]").check()
    form.locator("[name=default]").select_option("stripe")
    form.locator("button[type=submit]").click()
    expect(page.locator("#cities-status")).to_have_text(
        f"{CITY}: sandbox, stripe offered, stripe by default."
    )
    public = system.get(f"/api/v1/cities/{CITY}/payment-gateways").json()
    assert (public["gateways"], public["default"]) == (["sandbox", "stripe"], "stripe")
    form.locator("[name=gateways][value=sandbox]").uncheck()
    form.locator("[name=gateways][value=stripe]").uncheck()
    form.locator("button[type=submit]").click()
    expect(page.locator("#cities-status.error")).to_contain_text("one or more")
    assert tab.problems == []


def test_a_rider_picks_how_to_pay_in_the_app_in_either_language(system, phone, stripe_too):
    offered = {"gateways": ["sandbox", "stripe"], "default": "sandbox"}
    assert system.put(PATH, offered, system.operator()).ok
    rider = signed_in(phone, system, credit_minor=0)
    page = phone.page
    page.click("#tabs a[data-screen=wallet]")
    expect(page.locator("#gateway option")).to_have_text(["Sandbox (demo)", "Card (Stripe)"])
    page.select_option("#gateway", "stripe")
    with page.expect_popup() as opened:
        page.click("button:has-text('Top up CN¥10.00')")
    opened.value.close()  # the fake's page: the rider pays there
    (session,) = stripe_too.sessions.values()
    with system.platform.uow() as uow:
        order = uow.payments.order(uuid.UUID(session["client_reference_id"]))
    assert (order.rider_id, order.gateway, order.amount_minor) == (rider.id, "stripe", 1000)

    page.click("#tabs a[data-screen=me]")
    page.select_option("#language", "zh-CN")
    page.click("#tabs a[data-screen=wallet]")
    expect(page.locator("#gateway option")).to_have_text(["沙盒（演示）", "银行卡（Stripe）"])  # noqa: RUF001
    expect(page.locator(".gateway-choice")).to_contain_text("支付方式")
