"""What needs an operator, in one list that follows the fleet live, and the fleet map that
does too: both polled with ETags (a 304 while nothing changed); operators only."""

from datetime import UTC, datetime

from playwright.sync_api import expect

from tests.e2e.test_operator_console import open_console
from tests.helpers import CITY, make_city

LIVE = 15_000  # ms: a few polls


def test_the_attention_list_answers_304_until_something_changes(system):
    make_city(system.platform)
    code, lock = system.bike()
    operator = system.operator()
    path = f"/api/v1/ops/attention?city_id={CITY}"

    first = system.get(path, operator)
    tag = first.headers["ETag"]
    assert (first.status_code, first.json()["items"]) == (200, [])
    again = system.http.get(system.url + path, headers={**operator.headers, "If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    changed = system.http.get(system.url + path, headers={**operator.headers, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert [(i["kind"], i["subject"]) for i in changed.json()["items"]] == [("lock_offline", code)]
    assert system.get(path, system.rider()).status_code == 403
    fleet = system.get(f"/api/v1/ops/assets?city_id={CITY}", operator)
    unchanged = system.http.get(
        f"{system.url}/api/v1/ops/assets?city_id={CITY}",
        headers={**operator.headers, "If-None-Match": fleet.headers["ETag"]},
    )
    assert unchanged.status_code == 304


def test_an_operator_watches_a_lock_go_offline_on_the_alerts_and_the_fleet_map(system, tab):
    make_city(system.platform)
    code, lock = system.bike()
    page = open_console(system, tab, f"alerts?city={CITY}")
    expect(page.locator("#no-alerts")).to_have_text("Nothing needs attention.")

    lock.go_offline()
    with system.platform.uow() as uow:
        uow.dead_letters.add("locks/X/events", b"{}", "bad signature", datetime.now(UTC))
        uow.commit()

    row = page.locator(f"#alerts tr[data-kind=lock_offline][data-subject='{code}']")
    expect(row).to_contain_text("Lock offline", timeout=LIVE)
    expect(page.locator("#alerts tr[data-kind=dead_letter]")).to_contain_text("bad signature")
    expect(page.locator("[data-count=lock_offline]")).to_have_text("Lock offline: 1")
    tab.screenshot("ops-alerts")
    page.select_option("#language", "zh-CN")
    expect(row).to_contain_text("车锁离线")
    tab.screenshot("ops-alerts-zh")

    lock.go_online()
    page.select_option("#language", "en")
    page.click("#nav a[href='#/fleet']")
    fleet_row = page.locator(f"tr[data-code='{code}']")
    expect(fleet_row).to_have_attribute("data-state", "available", timeout=LIVE)
    lock.go_offline()
    expect(fleet_row).to_have_attribute("data-state", "offline", timeout=LIVE)  # no reload
    assert tab.problems == []
