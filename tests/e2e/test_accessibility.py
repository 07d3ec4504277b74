"""Every screen of the rider app (a phone, in English and in Chinese) and of the operator
console (a desktop) checked by axe-core in Chromium: no serious or critical accessibility
violation (WCAG 2.1 A and AA). Screens are kept in var/test-artifacts/screens/."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import Tab
from tests.e2e.test_dispute_case import disputed_ride, open_case
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_ride import ROUTE
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY, make_city

SIGNED_OUT = ("code", "signin", "signup")
AFTER_THE_RIDE = ("trips", "wallet", "hold", "me", "report", "help")
CONSOLE_PAGES = (
    "dashboard",
    "funnel",
    "demand",
    "alerts",
    "cities",
    "fleet",
    "register",
    "zones",
    "reports",
    "disputes",
    "books",
    "reconciliation",
    "rebalancing",
)
# Screens opened from a page, each with what it needs to show: a dispute's case in the
# console (a desktop), the printable receipt with its route map (a phone).
CASE_SCREENS = ("dispute-case",)
PRINTABLE_SCREENS = ("printable-receipt",)


class Audit:
    """Runs axe-core on each screen of one tab, keeping what it found by screen."""

    def __init__(self, tab: Tab, name: str) -> None:
        self.tab, self.name = tab, name
        self.found: dict[str, list[str]] = {}

    def screen(self, screen: str, ready: str) -> None:
        self.tab.page.wait_for_selector(ready)
        self.found[screen] = self.tab.accessibility_violations()
        self.tab.screenshot(f"a11y-{self.name}-{screen}")

    def violations(self) -> dict[str, list[str]]:
        return {screen: found for screen, found in self.found.items() if found}


def app_screen(audit: Audit, url: str, screen: str) -> None:
    audit.tab.page.goto(f"{url}/app/#/{screen}")
    audit.screen(screen, f"#main[data-ready='{screen}']")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_no_screen_of_the_rider_app_has_a_serious_accessibility_violation(system, browser, locale):
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    audit, page = Audit(phone, f"app-{locale}"), phone.page
    try:
        for screen in SIGNED_OUT:
            app_screen(audit, system.url, screen)
        code, lock = system.bike()
        signed_in(phone, system)
        audit.screen("map", "#main[data-ready='map'] .vehicle-marker")
        page.click(f".vehicle-marker[title='{code}']")
        audit.screen("vehicle", f"#vehicle h2:has-text('{code}')")
        page.click("#vehicle button.primary")
        audit.screen("unlock", "#main[data-ready='unlock'] #unlock")
        page.click("#unlock")
        page.wait_for_url(re.compile(r"#/trip/"))
        audit.screen("trip", "#main[data-ready='trip'] #trip-fare")
        lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
        lock.close()
        audit.screen("receipt", "#receipt-total")
        for screen in AFTER_THE_RIDE:
            app_screen(audit, system.url, screen)
        assert audit.violations() == {}
        assert phone.problems == []
    finally:
        phone.close()


def test_no_page_of_the_operator_console_has_a_serious_accessibility_violation(system, tab):
    make_city(system.platform)
    system.bike()
    audit = Audit(tab, "console")
    tab.page.goto(f"{system.url}/ops/")
    audit.screen("sign-in", "#sign-in")
    open_console(system, tab, f"{CONSOLE_PAGES[0]}?city={CITY}")
    for page in CONSOLE_PAGES:
        tab.page.goto(f"{system.url}/ops/#/{page}?city={CITY}")
        audit.screen(page, f"#main[data-ready='{page}']")
    expect(tab.page.locator("#main")).to_be_visible()
    assert audit.violations() == {}
    assert tab.problems == []


def test_a_disputes_case_and_the_printable_receipt_have_no_serious_accessibility_violation(
    system, browser, tab
):
    rider, rental_id, dispute_id = disputed_ride(system)
    console = Audit(tab, "console")
    open_console(system, tab, "disputes")
    open_case(tab.page, dispute_id)
    [case] = CASE_SCREENS
    console.screen(case, f"#case-{dispute_id} .case-map[data-ready=true]")

    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="en-US")
    try:
        printable = Audit(phone, "app-en-US")
        phone.page.goto(receipt["printable_url"])
        [page] = PRINTABLE_SCREENS
        printable.screen(page, "#receipt-map[data-ready=true]")
        assert console.violations() == {} and printable.violations() == {}
        assert tab.problems == [] and phone.problems == []
    finally:
        phone.close()
