"""An e-bike's range on the rider's vehicle card, in both languages, from its lock's battery:
the same number the GBFS feed publishes as `current_range_meters`; none for a plain bike."""

import pytest
from playwright.sync_api import expect

from rental.domain.gbfs import EBIKE_RANGE_METERS
from tests.browser import Tab
from tests.e2e.system import SHANGHAI
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY, eventually

CHARGE = 73  # percent: 73 % of 60 km is 43.8 km
WORDS = {"en-US": "Range 43.8 km", "zh-CN": "续航 43.8 公里"}


def charged_ebike(system, pct):
    plain, _ = system.bike()  # the city first: a plan is published for a city that exists
    operator = system.operator()
    plan = {"rate_per_interval_minor": 200, "interval_seconds": 1800}
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/ebike", plan, operator).status_code == 201
    code, lock = system.bike(kind="ebike", at=(SHANGHAI[0] + 0.001, SHANGHAI[1]))
    lock.logic.battery_pct = pct
    lock.report()
    lon, lat = SHANGHAI

    def reported() -> bool:
        found = system.get(f"/api/v1/vehicles/nearby?lon={lon}&lat={lat}").json()["vehicles"]
        return any(v["code"] == code and v["battery_pct"] == pct for v in found)

    eventually(reported, what="the charge reported")
    return code, plain


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_an_ebikes_card_says_how_far_its_charge_carries_it(system, browser, locale):
    code, bike = charged_ebike(system, CHARGE)
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    try:
        signed_in(phone, system)
        page = phone.page
        page.click(f".vehicle-marker[title='{code}']")
        expect(page.locator("#vehicle-range")).to_have_text(WORDS[locale])
        phone.screenshot(f"app-ebike-range-{locale}")
        page.click(f".vehicle-marker[title='{bike}']")
        expect(page.locator("#vehicle h2")).to_contain_text(bike)
        assert page.locator("#vehicle-range").count() == 0  # a plain bike has no range
        assert phone.problems == []
    finally:
        phone.close()


def test_the_range_is_the_one_the_gbfs_feed_publishes(system):
    code, _ = charged_ebike(system, CHARGE)
    lon, lat = SHANGHAI
    [ebike] = [
        v
        for v in system.get(f"/api/v1/vehicles/nearby?lon={lon}&lat={lat}").json()["vehicles"]
        if v["code"] == code
    ]
    assert ebike["range_m"] == round(CHARGE / 100 * EBIKE_RANGE_METERS) == 43_800
    feed = system.get(f"/gbfs/v3/{CITY}/vehicle_status.json").json()["data"]["vehicles"]
    assert [v["current_range_meters"] for v in feed if v["vehicle_type_id"] == "ebike"] == [43_800]
