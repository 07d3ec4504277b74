"""A dispute opened in the operator console shows what judging it needs (a desktop, in
English and Chinese): the fare's lines, the route drawn over the city's zones from its start
to its end, where the ride was parked, and the rider's history. The printable receipt
draws the route too, on a phone's screen and on paper."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rental.domain.pricing import Tariff
from tests.browser import Tab
from tests.e2e.system import Rider
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_ride import ROUTE
from tests.helpers import CITY, make_city

MESSAGES = Path(__file__).resolve().parents[2] / "rental" / "web" / "static" / "ops" / "messages"
LANGUAGES = {"en-US": "en", "zh-CN": "zh-CN"}
# An unlock fee, the time and a fee for parking outside the service area: three lines.
PRICE = Tariff(
    "CNY", 100, rate_per_interval_minor=150, interval_seconds=1800, out_of_zone_fee_minor=300
)


def words(locale: str) -> dict[str, str]:
    return dict(json.loads((MESSAGES / f"{LANGUAGES[locale]}.json").read_text(encoding="utf-8")))


def ride(system, rider: Rider, route: list[list[float]]) -> str:
    code, lock = system.bike()
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    if route:
        lock.ride([tuple(point) for point in route], interval_s=0.05)
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    return rental_id


def disputed_ride(system) -> tuple[Rider, str, str]:
    """A rider with an earlier dispute refunded in part, who rode ROUTE (ending east of the
    city's service area) and disputes its fare: (rider, rental id, open dispute id)."""
    make_city(system.platform, price=PRICE)
    assert system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, system.operator()).status_code == 200
    rider = system.rider(credit_minor=5000)
    earlier = ride(system, rider, [])
    first = system.post(f"/api/v1/rentals/{earlier}/disputes", {"reason": "Short ride"}, rider)
    refund = {"refund_minor": 50, "note": "half the unlock back"}
    path = f"/api/v1/ops/disputes/{first.json()['id']}/resolution"
    assert system.post(path, refund, system.operator()).status_code == 200
    rental_id = ride(system, rider, ROUTE)
    reason = {"reason": "I parked inside the area, the fee is wrong"}
    opened = system.post(f"/api/v1/rentals/{rental_id}/disputes", reason, rider)
    assert opened.status_code == 201, opened.text
    return rider, rental_id, opened.json()["id"]


def open_case(page, dispute_id: str):
    """The case of one dispute, opened on the console's Disputes page and drawn."""
    card = page.locator(f"form[data-dispute='{dispute_id}']")
    card.locator("button.open-case").click()
    case = page.locator(f"#case-{dispute_id}")
    expect(case.locator(".case-map")).to_have_attribute("data-ready", "true", timeout=15_000)
    return card, case


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_an_operator_opens_a_dispute_and_sees_its_fare_route_parking_and_history(
    system, browser, locale
):
    _, _, dispute_id = disputed_ride(system)
    found = system.get(f"/api/v1/ops/disputes/{dispute_id}", system.operator()).json()
    receipt, said = found["receipt"], words(locale)
    desk = Tab(browser, 1280, 860, locale=locale)
    try:
        page = open_console(system, desk, "disputes")
        card, case = open_case(page, dispute_id)
        expect(card.locator("button.open-case")).to_have_attribute("aria-expanded", "true")
        expect(card.locator("button.open-case")).to_have_text(said["case.close"])

        # The fare's lines, as the receipt itemises them, and what is left to refund.
        lines = case.locator(".fare-lines tbody tr")
        expect(lines).to_have_count(len(receipt["lines"]))
        kinds = lines.evaluate_all("rows => rows.map(r => r.dataset.kind)")
        assert kinds == [line["kind"] for line in receipt["lines"]] and "parking_fee" in kinds
        expect(case.locator("[data-kind=unlock] td").first).to_have_text(said["line.unlock"])
        total = f"{receipt['total_minor'] / 100:.2f} CNY"
        expect(case.locator(".fare-lines .total .amount")).to_have_text(total)
        expect(card.locator("input[name=refund]")).to_have_attribute("max", total.split()[0])

        # The route, from its start (west) to its end (east), over the city's zones.
        route = case.locator(".case-map")
        expect(route).to_have_attribute("data-points", str(len(found["route"]["coordinates"])))
        expect(route).to_have_attribute("aria-label", said["case.route"])
        expect(route.locator("path.route")).to_have_count(1)
        expect(route.locator("path.zone-service_area")).to_have_count(1)
        start, end = (route.locator(f"path.route-{n}").bounding_box() for n in ("start", "end"))
        assert start["x"] < end["x"] and start["y"] > end["y"]  # north is up

        # Where it was parked: east of the service area, as judged at the end and now.
        verdict = case.locator(".parked .verdict")
        expect(verdict).to_have_text(said["parking.outside_service_area"])
        expect(case.locator(".parked .zones-now")).to_have_text(said["case.outside_area"])

        # The rider's history: two rides, a refunded dispute and this one.
        history = case.locator(".history")
        expect(history.locator("[data-figure=rides]")).to_have_text("2")
        expect(history.locator("[data-figure=parking_fees]")).to_have_text("1")
        expect(history.locator("[data-figure=failed_unlocks]")).to_have_text("0")
        disputes = said["history.disputes_detail"].format(n=2, open=1, refunded=1, rejected=0)
        expect(history.locator("[data-figure=disputes]")).to_have_text(disputes)
        expect(history.locator("[data-figure=refunds]")).to_have_text("0.50 CNY")
        age = said["history.days"].format(n=0)
        expect(history.locator("[data-figure=account_age]")).to_have_text(age)
        score = str(found["history"]["credit_score"])
        expect(history.locator("[data-figure=credit_score]")).to_have_text(score)
        desk.screenshot(f"ops-dispute-case-{locale}")
        assert desk.problems == []
    finally:
        desk.close()


def test_the_printable_receipt_draws_the_route_on_a_phone_and_on_paper(system, browser):
    rider, rental_id, _ = disputed_ride(system)
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    trace = system.get(f"/api/v1/rentals/{rental_id}/trace", rider).json()
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="en-US")
    try:
        page = phone.page
        page.goto(receipt["printable_url"])  # a plain link: no token
        route = page.locator("#receipt-map")
        expect(route).to_have_attribute("data-ready", "true", timeout=15_000)
        expect(route).to_have_attribute("data-points", str(len(trace["geometry"]["coordinates"])))
        for drawn in ("route", "route-start", "route-end", "zone-service_area"):
            expect(route.locator(f"path.{drawn}")).to_have_count(1)
        start, end = (route.locator(f"path.route-{n}").bounding_box() for n in ("start", "end"))
        assert start["x"] < end["x"] and start["y"] > end["y"]
        expect(page.locator("#print")).to_be_enabled()
        phone.screenshot("receipt-printable-route")

        # On paper: the map keeps its size and its route, without its zoom buttons.
        page.emulate_media(media="print")
        expect(page.locator("#print")).to_be_hidden()
        expect(route.locator(".leaflet-control-zoom")).to_be_hidden()
        box = route.bounding_box()
        assert box is not None and box["height"] > 200 and box["width"] > 250
        line = route.locator("path.route").bounding_box()
        assert line is not None and line["width"] > 50
        assert box["x"] <= line["x"] and line["x"] + line["width"] <= box["x"] + box["width"]
        phone.screenshot("receipt-printable-route-print")
        assert phone.problems == []
    finally:
        phone.close()
