"""The rider app and the console on a phone's screen, in both languages: the printable
receipt in the app's language with a QR code that opens the receipt in the app, the wallet
without stray words and following a deposit refund, a ride the rider cannot open as a plain
notice, the service's errors in the app's own words, and a dispute's case read top to
bottom on a phone, on the city's clock."""

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import segno
from playwright.sync_api import expect

from rebalancing.demand import coming_morning
from rental.api.common import qr_image
from tests.browser import Tab
from tests.e2e.system import Rider
from tests.e2e.test_dispute_case import disputed_ride
from tests.e2e.test_money_back import pay_deposit
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_receipts_and_disputes import finished_ride
from tests.e2e.test_rider_app import signed_in
from tests.e2e.test_rider_app_details import ride_and_end
from tests.helpers import CITY
from tests.integration.test_rebalancing import CITY as REBALANCED_CITY
from tests.integration.test_rebalancing import OFFICE, STATION, bike_at, past_mornings
from tests.integration.test_rebalancing import set_up_city as set_up_rebalancing_city

STATIC = Path(__file__).resolve().parents[2] / "rental" / "web" / "static"
LANGUAGES = {"en-US": "en", "zh-CN": "zh-CN"}


def app_words(locale: str) -> dict[str, str]:
    path = STATIC / "app" / "messages" / f"{LANGUAGES[locale]}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def console_words(locale: str) -> dict[str, str]:
    path = STATIC / "ops" / "messages" / f"{LANGUAGES[locale]}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def phone_in(browser, locale, **options):
    return Tab(browser, 390, 844, is_mobile=True, has_touch=True, locale=locale, **options)


def app_receipt_url(system, rental_id: str) -> str:
    return f"{system.platform.config.PUBLIC_BASE_URL.rstrip('/')}/app/#/receipt/{rental_id}"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_printable_receipt_speaks_the_apps_language_and_its_qr_code_opens_the_app(
    system, browser, locale
):
    said = app_words(locale)
    phone = phone_in(browser, locale)
    try:
        code, lock = system.bike()
        signed_in(phone, system)
        rental_id = ride_and_end(system, phone, code, lock)
        # The receipt screen's QR code opens the app's receipt, not the token-only JSON.
        in_app = phone.page.get_attribute("#receipt-qr", "src")
        assert in_app == qr_image(app_receipt_url(system, rental_id))

        with phone.page.expect_popup() as opened:
            phone.page.click("#printable")
        printable = opened.value
        printable.wait_for_load_state()
        expect(printable.locator("#receipt-map")).to_have_attribute("data-ready", "true")

        assert printable.get_attribute("html", "lang") == LANGUAGES[locale]
        number = phone.page.get_attribute("#receipt-qr", "alt")
        assert printable.inner_text("h1") == number == printable.title()
        riding = said["line.riding"].format(n=1, duration=said["price.minutes"].format(n=30))
        assert printable.locator("td").all_inner_texts()[:4] == [
            riding,
            "1.50 CNY",
            said["receipt.total"],
            "1.50 CNY",
        ]
        assert printable.locator("td").all_inner_texts()[4] == said["receipt.paid"]
        assert printable.inner_text("figcaption") == said["receipt.scan"]
        assert printable.inner_text("#print") == said["receipt.print"]
        assert printable.get_attribute("#receipt-map", "aria-label") == said["receipt.route"]
        # The app's icon, not a 404 for /favicon.ico.
        icon = printable.get_attribute("link[rel=icon]", "href")
        assert system.http.get(f"{system.url}{icon}").status_code == 200

        # Its QR code opens the receipt in the app too.
        page = system.http.get(phone.page.get_attribute("#printable", "href")).text
        assert segno.make(app_receipt_url(system, rental_id), error="m").svg_inline(scale=4) in page
        phone.screenshot(f"receipt-printable-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


def test_the_printable_receipt_without_a_language_follows_the_browsers(system):
    rider, rental_id, _ = finished_ride(system)
    path = f"{system.url}/api/v1/rentals/{rental_id}/receipt.html"

    def page(headers: dict[str, str], lang: str = "") -> str:
        query = f"?lang={lang}" if lang else ""
        return system.http.get(path + query, headers={**rider.headers, **headers}).text

    chinese = page({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "<html lang=zh-CN>" in chinese and "合计" in chinese
    assert "<html lang=en>" in page({"Accept-Language": "fr-FR,en;q=0.5"})
    assert "<html lang=en>" in page({}, lang="xx")  # not one the app speaks: English
    assert "<html lang=en>" in page({"Accept-Language": "zh-CN"}, lang="en")  # the app wins


def test_a_rider_without_a_deposit_sees_no_stray_words_in_the_wallet(system, phone):
    signed_in(phone, system)
    phone.page.click("#tabs a[data-screen=wallet]")
    phone.page.wait_for_selector("#main[data-ready=wallet]")

    assert phone.page.locator("#deposit-box").count() == 0
    assert "null" not in phone.page.inner_text("#main")
    assert phone.problems == []


def test_the_balance_card_drops_the_deposit_once_its_refund_is_back(system, browser):
    phone = phone_in(browser, "en-US")
    try:
        system.bike()
        rider = signed_in(phone, system)
        api_rider = Rider(rider.id, system.sign_in(rider.phone))
        pay_deposit(system, api_rider, 20_000)
        page = phone.page
        page.click("#tabs a[data-screen=wallet]")
        expect(page.locator("#wallet-deposit")).to_have_text(
            f"{app_words('en-US')['wallet.deposit']}: CN¥200.00"
        )

        page.click("#refund-deposit")

        expect(page.locator("#deposit-status")).to_have_text(
            app_words("en-US")["deposit.back"], timeout=10_000
        )
        expect(page.locator("#wallet-deposit")).to_have_count(0)
        expect(page.locator("#balance-card")).to_be_visible()
        assert phone.problems == []
    finally:
        phone.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_ride_the_rider_cannot_open_is_a_plain_notice(system, browser, locale):
    said = app_words(locale)
    _, someone_elses, _ = finished_ride(system)
    phone = phone_in(browser, locale)
    try:
        signed_in(phone, system)
        page = phone.page
        for screen in (
            "trip/notauuid",
            f"trip/{someone_elses}",
            "receipt/notauuid",
            f"receipt/{someone_elses}",
        ):
            page.goto(f"{system.url}/app/#/{screen}")
            expect(page.locator("#no-such-ride")).to_have_text(said["ride.not_found"])
            assert page.locator("#trip-time, #trip-map, .notice.busy").count() == 0, screen
        phone.screenshot(f"app-no-such-ride-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_console_says_a_known_error_in_its_own_words(system, browser, locale):
    said = console_words(locale)
    system.bike()
    desk = Tab(browser, 1280, 860, locale=locale)
    try:
        open_console(system, desk, "disputes")
        page = desk.page
        page.goto(f"{system.url}/ops/#/demand?city=nowhere")
        expect(page.locator("#main p.error")).to_have_text(said["error.city_not_found"])
        page.goto(f"{system.url}/ops/#/demand?city={CITY}&first_day=2026-11-30&last_day=2026-11-01")
        expect(page.locator("#main p.error")).to_have_text(said["error.invalid_days"])
        assert desk.problems == []
    finally:
        desk.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_dispute_case_reads_top_to_bottom_on_a_phone_on_the_citys_clock(system, browser, locale):
    _, _, dispute_id = disputed_ride(system)
    # An operator away from the city: the browser's clock is New York's.
    phone = Tab(browser, 390, 844, locale=locale, timezone_id="America/New_York")
    try:
        page = open_console(system, phone, "disputes")
        card = page.locator(f"form[data-dispute='{dispute_id}']")
        card.locator("button.open-case").click()
        case = page.locator(f"#case-{dispute_id}")
        expect(case.locator(".case-map")).to_have_attribute("data-ready", "true", timeout=15_000)

        box = case.locator(".split").bounding_box()
        route = case.locator(".case-map").bounding_box()
        assert route["width"] > 0.9 * box["width"] > 250
        for heading in case.locator("h3").all():
            assert heading.bounding_box()["height"] < 60, heading.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # The card's opened time and the case's times, both on the city's clock (GMT+8).
        zone = re.compile(r"GMT\+8")
        expect(card.locator(".opened")).to_contain_text(zone)
        expect(case.locator("p.muted").first).to_contain_text(zone)
        phone.screenshot(f"ops-dispute-case-phone-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


@pytest.mark.parametrize("page_name", ["fleet", "zones", "demand", "rebalancing"])
def test_the_consoles_maps_take_the_width_of_a_phone(system, browser, page_name):
    system.bike()
    phone = Tab(browser, 390, 844, locale="en-US")
    try:
        page = open_console(system, phone, f"{page_name}?city={CITY}")
        split = page.locator(".split").first.bounding_box()
        assert split["width"] <= 390
        for part in page.locator(".split > *").all():
            assert part.bounding_box()["width"] > 0.9 * split["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.problems == []
    finally:
        phone.close()


def test_the_rebalancing_plan_names_its_distances_in_chinese(system, browser):
    set_up_rebalancing_city(system.platform)
    strays = [bike_at(system.platform, STATION) for _ in range(3)]
    morning = coming_morning(system.platform.now(), ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, strays[0], OFFICE, 2, morning)
    desk = Tab(browser, 1280, 860, locale="zh-CN")
    try:
        page = open_console(system, desk, f"rebalancing?city={REBALANCED_CITY}")
        page.click("#plan-now")
        expect(page.locator("#distances")).to_have_text(
            console_words("zh-CN")["plan.great_circle"], timeout=30_000
        )
        assert desk.problems == []
    finally:
        desk.close()
