"""The operator's dashboard: its figures and charts from known rides, unlocks, bikes at the
hotspots and fares, in English and Chinese; operators only."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.conftest import new_lock_id
from tests.e2e.test_operator_console import open_console
from tests.helpers import make_bike, make_user
from tests.integration.test_dashboard import failed_unlock, ride
from tests.integration.test_rebalancing import CITY, OFFICE, STATION, set_up_city

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parked_at(platform, position):
    """A bike heard from now at `position` (lon, lat): available to riders."""
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=CITY)
    with platform.uow() as uow:
        uow.locks.record_seen(
            lock_id, platform.now(), battery_pct=80, lon=position[0], lat=position[1]
        )
        uow.commit()
    return asset


def a_known_day(platform):
    """Two bikes at the station, one at the office; three rides from the station in the last
    twenty minutes (unlocked in 1, 2 and 3 s, fares 3.00 and 1.50 CNY), and one unlock that
    failed. The rides' local days, and how many started in the morning (06:00-10:00 there)."""
    set_up_city(platform)
    bikes = [
        parked_at(platform, STATION),
        parked_at(platform, STATION),
        parked_at(platform, OFFICE),
    ]
    rider = make_user(platform)
    now = platform.now()
    for minutes, latency, fare in ((15, 1, 300), (16, 2, 150), (17, 3, 0)):
        ride(
            platform,
            bikes[0],
            rider,
            now - timedelta(minutes=minutes),
            latency_s=latency,
            fare_minor=fare,
        )
    failed_unlock(platform, bikes[0], rider, now - timedelta(minutes=18))
    started = [(now - timedelta(minutes=m)).astimezone(SHANGHAI) for m in (15, 16, 17)]
    return {at.date() for at in started}, sum(6 <= at.hour < 10 for at in started)


def test_an_operator_reads_the_citys_dashboard_in_both_languages(system, tab):
    days, mornings = a_known_day(system.platform)
    page = open_console(system, tab, f"dashboard?city={CITY}")

    # The rides fall on one local day unless they straddle Shanghai's midnight.
    if len(days) == 1:
        expect(page.locator("#rides-today")).to_have_text("3")
        assert page.inner_text("#utilisation-today") == f"{3 / 3:.2f}"
    expect(page.locator("#unlock-rate")).to_have_text("75.0%")
    assert page.inner_text("#unlock-latency") == "2.00 s · 2.90 s"
    assert page.inner_text("#revenue") == "4.50 CNY"
    rows = page.locator("#hotspots tbody tr")
    assert rows.all_inner_texts() == ["Office\t1\t0.0", f"Station\t2\t{mornings / 14:.1f}"]
    hourly = page.evaluate("Chart.getChart('hours-chart').data.datasets[0].data")
    assert len(hourly) == 24 and sum(hourly) == 3
    daily = page.evaluate("Chart.getChart('days-chart').data.datasets[0].data")
    assert len(daily) == 14 and sum(daily) == 3
    revenue = page.evaluate("Chart.getChart('revenue-chart').data.datasets[0].data")
    assert sum(revenue) == 4.5
    tab.screenshot("ops-dashboard")

    page.select_option("#language", "zh-CN")
    expect(page.locator("#main h1")).to_have_text("运营概览")
    assert page.inner_text("#unlock-latency") == "2.00 秒 · 2.90 秒"
    page.select_option("#days", "7")
    expect(page.locator("#days-table tbody tr")).to_have_count(7)
    assert len(page.evaluate("Chart.getChart('days-chart').data.labels")) == 7
    tab.screenshot("ops-dashboard-zh")
    assert tab.problems == []


def test_the_dashboard_is_for_operators_and_names_bad_input(system):
    set_up_city(system.platform)
    operator, rider = system.operator(), system.rider()

    assert system.get(f"/api/v1/ops/dashboard?city_id={CITY}", rider).status_code == 403
    assert system.get(f"/api/v1/ops/dashboard?city_id={CITY}").status_code == 401
    too_long = system.get(f"/api/v1/ops/dashboard?city_id={CITY}&days=91", operator)
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "invalid_days")
    unknown = system.get("/api/v1/ops/dashboard?city_id=atlantis", operator)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "city_not_found")
    figures = system.get(f"/api/v1/ops/dashboard?city_id={CITY}&days=3", operator).json()
    assert [day["rides"] for day in figures["days"]] == [0, 0, 0]
    assert [spot["name"] for spot in figures["hotspots"]] == ["Office", "Station"]
