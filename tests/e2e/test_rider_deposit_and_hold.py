# ruff: noqa: RUF001 (Chinese punctuation in the words riders read)
"""The rider app on a phone's screen, in both languages: the deposit given back from the
wallet, each part shown in its gateway's state; and a hold found again, naming its bike,
on the app's start and on the map (where search no longer shows the held bike)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import Tab
from tests.e2e.system import Rider
from tests.e2e.test_money_back import pay_deposit
from tests.e2e.test_rider_app import signed_in

DEPOSIT_WORDS = {
    "en-US": {
        "button": "Get my deposit back (CN¥200.00)",
        "succeeded": ("Your deposit is on its way back to where you paid it from.", "paid back"),
        "failed": (
            "The payment service refused part of the refund: it is back in your deposit. "
            "Try again later.",
            "refused, back in your deposit",
        ),
        "amount": "CN¥200.00",
    },
    "zh-CN": {
        "button": "退还押金（¥200.00）",
        "succeeded": ("押金已原路退回。", "已退回"),
        "failed": (
            "部分退款被支付服务拒绝，该部分已退回押金账户，请稍后再试。",
            "被拒绝，已退回押金账户",
        ),
        "amount": "¥200.00",
    },
}


def phone_in(browser, locale):
    return Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)


@pytest.mark.parametrize(
    ("locale", "outcome"), [("en-US", "succeeded"), ("zh-CN", "failed"), ("en-US", "failed")]
)
def test_a_rider_gets_the_deposit_back_from_the_wallet_and_sees_how_it_went(
    system, browser, locale, outcome
):
    system.bike()
    words = DEPOSIT_WORDS[locale]
    phone = phone_in(browser, locale)
    try:
        rider = signed_in(phone, system)
        api_rider = Rider(rider.id, system.sign_in(rider.phone))  # the same rider, by API
        pay_deposit(system, api_rider, 20_000)
        system.gateway_faults(fail_refunds=outcome == "failed")
        page = phone.page
        page.click("#tabs a[data-screen=wallet]")
        expect(page.locator("#refund-deposit")).to_have_text(words["button"])

        page.click("#refund-deposit")

        said, state = words[outcome]
        expect(page.locator("#deposit-status")).to_have_text(said, timeout=10_000)
        expect(page.locator("#deposit-refunds li .amount")).to_have_text(
            [f"{words['amount']} · {state}"]
        )
        held = system.get("/api/v1/wallet", api_rider).json()["wallets"][0]["deposit_minor"]
        assert held == (20_000 if outcome == "failed" else 0)
        # Opened again later, the wallet still says what became of it.
        page.goto("about:blank")
        page.goto(f"{system.url}/app/#/wallet")
        expect(page.locator("#deposit-refunds li .amount")).to_have_text(
            [f"{words['amount']} · {state}"]
        )
        assert (page.locator("#refund-deposit").count() == 1) == (outcome == "failed")
        phone.screenshot(f"app-deposit-{outcome}-{locale}")
        assert phone.problems == []
    finally:
        system.gateway_faults(fail_refunds=False)
        phone.close()


def test_the_deposit_refunds_listed_are_the_riders_own(system):
    system.bike()
    rider, other = system.rider(), system.rider()
    pay_deposit(system, rider, 20_000)
    asked = system.post(
        "/api/v1/deposits/refunds", {"currency": "CNY", "idempotency_key": "k" * 16}, rider
    )
    assert asked.status_code == 202, asked.text
    [mine] = system.get("/api/v1/deposits/refunds", rider).json()["refunds"]
    assert mine["amount_minor"] == 20_000 and mine["state"] in ("processing", "succeeded")
    assert system.get("/api/v1/deposits/refunds", other).json() == {"refunds": []}
    assert system.get("/api/v1/deposits/refunds").status_code == 401


HOLD_WORDS = {
    "en-US": ("Bike {code}", r"^Bike {code} is held for you until .+\. See your hold$"),
    "zh-CN": ("单车 {code}", r"^已为你保留 单车 {code} 至 .+。查看预约$"),
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_hold_is_found_again_by_its_bike_on_start_and_on_the_map(system, browser, locale):
    code, _ = system.bike()
    name, banner = (words.format(code=code) for words in HOLD_WORDS[locale])
    phone = phone_in(browser, locale)
    try:
        signed_in(phone, system)
        page = phone.page
        page.click(f".vehicle-marker[title='{code}']")
        page.click("#vehicle button:not(.primary)")  # hold it
        page.wait_for_url(re.compile(r"#/hold$"))

        page.goto("about:blank")
        page.goto(f"{system.url}/app/")

        page.wait_for_url(re.compile(r"#/hold$"))
        expect(page.locator("#hold-vehicle")).to_have_text(name)
        expect(page.locator("#hold-map .vehicle-marker.held")).to_have_count(1)
        phone.screenshot(f"app-hold-{locale}")
        page.click("#tabs a[data-screen=map]")
        expect(page.locator("#ongoing a")).to_have_text(re.compile(banner))
        # Search hides a held bike; its rider still sees it, marked as theirs, where it is.
        held = page.locator(".vehicle-marker.held")
        expect(held).to_have_count(1)
        assert page.locator(f".vehicle-marker[title='{code}']").count() == 0
        assert name in held.get_attribute("title")
        held.click()
        page.wait_for_url(re.compile(r"#/hold$"))
        assert phone.problems == []
    finally:
        phone.close()


def test_a_hold_names_its_bike_and_where_it_stands(system):
    code, _ = system.bike(at=(121.4711, 31.2322))
    rider = system.rider()
    made = system.post("/api/v1/reservations", {"code": code, "idempotency_key": "h" * 16}, rider)
    assert made.status_code == 201, made.text
    current = system.get("/api/v1/reservations/current", rider).json()
    for answer in (made.json(), current):
        assert answer["vehicle"] == {
            "code": code,
            "kind": "bike",
            "position": {"lon": 121.4711, "lat": 31.2322},
        }
