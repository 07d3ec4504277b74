"""A route map on each receipt, in a real browser on a phone's screen and in both
languages: the trip's own trace from the API, where it started and ended, over the city's
zones (the map's context with no tile server); and a trace only its rider can read."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import Tab
from tests.e2e.system import Rider
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_ride import ROUTE
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY

LABELS = {"en-US": "The route of this ride", "zh-CN": "本次骑行路线"}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_receipt_shows_the_trips_route_over_the_citys_zones(system, browser, locale):
    code, lock = system.bike()
    assert system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, system.operator()).status_code == 200
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    try:
        user = signed_in(phone, system)
        page = phone.page
        page.goto(f"{system.url}/app/#/unlock/{code}")
        page.click("#unlock")
        page.wait_for_url(re.compile(r"#/trip/"))
        rental_id = page.url.rsplit("/", 1)[1]
        lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
        lock.close()
        page.wait_for_selector("#receipt-total", timeout=15_000)

        rider = Rider(user.id, system.sign_in(user.phone))
        trace = system.get(f"/api/v1/rentals/{rental_id}/trace", rider).json()
        stored = trace["geometry"]["coordinates"]
        assert len(stored) >= 2
        route = page.locator("#receipt-map")
        expect(route).to_have_attribute("data-points", str(len(stored)))
        expect(route).to_have_attribute("aria-label", LABELS[locale])
        expect(route.locator("path.route")).to_have_count(1)
        expect(route.locator("path.route-start")).to_have_count(1)
        expect(route.locator("path.route-end")).to_have_count(1)
        expect(route.locator("path.zone-service_area")).to_have_count(1)
        # The route runs from the start marker, west, to the end marker, east (ROUTE's way).
        start, end = (route.locator(f"path.route-{n}").bounding_box() for n in ("start", "end"))
        assert start["x"] < end["x"] and start["y"] > end["y"]  # north is up
        phone.screenshot(f"app-receipt-route-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


def test_a_trips_route_is_its_riders_alone(system):
    code, lock = system.bike()
    rider, stranger = system.rider(), system.rider()
    rental_id = system.scan(rider, code).json()["id"]
    system.wait_state(rider, rental_id, "active")
    lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    lock.close()
    system.wait_state(rider, rental_id, "ended")

    assert system.get(f"/api/v1/rentals/{rental_id}/trace", rider).status_code == 200
    theirs = system.get(f"/api/v1/rentals/{rental_id}/trace", stranger)
    assert theirs.status_code == 404
    assert system.get(f"/api/v1/rentals/{rental_id}/trace").status_code == 401
