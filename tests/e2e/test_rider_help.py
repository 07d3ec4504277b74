# ruff: noqa: RUF001 (Chinese punctuation in the words riders read)
"""The rider app's help page in a real browser on a phone's screen, in both languages: what
riding, holding, parking badly and deposits cost, read from the city's current plans (so
a new price shows at once), and where to park, on a map of the city's zones."""

import pytest
from playwright.sync_api import expect

from rental.domain.credit import HIGHEST_SCORE, LOWEST_SCORE
from tests.browser import Tab
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY

EBIKE_PLAN = {
    "unlock_fee_minor": 100,
    "rate_per_interval_minor": 200,
    "interval_seconds": 900,
    "reservation_per_minute_minor": 10,
    "out_of_zone_fee_minor": 500,
    "deposit_minor": 9900,
    "deposit_waiver_score": 700,
}
WORDS = {
    "en-US": {
        "title": "How it works",
        "bike": [
            "Bike",
            "CN¥1.50 per 30 min",
            "Holding one for you: CN¥0.00 per minute",
            "Parking where you may not: CN¥0.00",
            "No deposit",
        ],
        "ebike": [
            "E-bike",
            "CN¥1.00 to unlock, CN¥2.00 per 15 min",
            "Holding one for you: CN¥0.10 per minute",
            "Parking where you may not: CN¥5.00",
            "Deposit: CN¥99.00, none from a credit score of 700",
        ],
        "credit": f"Your score is 600, from {LOWEST_SCORE} to {HIGHEST_SCORE}.",
    },
    "zh-CN": {
        "title": "使用说明",
        "bike": [
            "单车",
            "每 30 分钟 ¥1.50",
            "预约保留：每分钟 ¥0.00",
            "违规停车：¥0.00",
            "无需押金",
        ],
        "ebike": [
            "电单车",
            "开锁费 ¥1.00，每 15 分钟 ¥2.00",
            "预约保留：每分钟 ¥0.10",
            "违规停车：¥5.00",
            "押金：¥99.00，信用分达到 700 免押金",
        ],
        "credit": f"你的信用分为 600（{LOWEST_SCORE} 至 {HIGHEST_SCORE}）。",
    },
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_help_page_explains_the_citys_own_prices_parking_and_deposits(system, browser, locale):
    system.bike()  # the city, with its bike plan: CN¥1.50 per 30 min
    operator = system.operator()
    published = system.put(f"/api/v1/ops/pricing-plans/{CITY}/ebike", EBIKE_PLAN, operator)
    assert published.status_code == 201, published.text
    assert system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, operator).status_code == 200
    words = WORDS[locale]
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    try:
        signed_in(phone, system)
        page = phone.page
        page.click("#tabs a[data-screen=me]")
        page.click("#help-link")

        expect(page.locator("h1")).to_have_text(words["title"])
        for kind in ("bike", "ebike"):
            facts = page.locator(f"#help-prices li[data-kind={kind}] > *")
            expect(facts).to_have_text(words[kind])
        expect(page.locator("#help-credit p")).to_contain_text(words["credit"])
        # The zones riders park by, drawn on a map of the city (no tile server needed).
        expect(page.locator("#help-map path.zone-service_area")).to_have_count(1)
        phone.screenshot(f"app-help-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


def test_a_citys_prices_are_public_and_an_unknown_city_is_404(system):
    system.bike()
    answer = system.get(f"/api/v1/cities/{CITY}/prices")
    assert answer.status_code == 200
    [bike] = answer.json()["plans"]
    assert (bike["kind"], bike["rate_per_interval_minor"], bike["interval_seconds"]) == (
        "bike",
        150,
        1800,
    )
    missing = system.get("/api/v1/cities/nowhere/prices")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "city_not_found")
