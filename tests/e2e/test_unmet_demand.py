"""Where riders looked for a vehicle and found none: a nearby search with nothing around is
counted by coarse cell and hour, naming no rider; operators (only) read the counts per
city and days against where vehicles stand, and see them as a heatmap on the console's
map, in English and Chinese."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import text

from rental.domain.unmet_demand import cell_center, cell_of
from tests.e2e.test_console_dashboard import parked_at
from tests.e2e.test_operator_console import open_console
from tests.integration.test_rebalancing import CITY, ELSEWHERE, OFFICE, set_up_city

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Nearest to the city's center, far from every vehicle there.
EMPTY_CORNER = ELSEWHERE


def search(system, position, who=None):
    lon, lat = position
    return system.get(f"/api/v1/vehicles/nearby?lon={lon}&lat={lat}&radius_m=300", who)


def counts(platform):
    platform.unmet_searches.wait_until_counted()  # counted off the rider's request
    with platform.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text("TABLE unmet_searches"))]


def test_a_search_that_finds_nothing_is_counted_coarsened_and_naming_no_rider(system):
    set_up_city(system.platform)
    parked_at(system.platform, OFFICE)
    rider, another = system.rider(), system.rider()

    assert search(system, OFFICE, rider).json()["vehicles"] != []  # found one: not counted
    before = datetime.now(UTC)
    for _ in range(3):  # one account heats a cell once an hour, however often it looks
        assert search(system, EMPTY_CORNER, rider).json() == {"vehicles": []}
    assert search(system, EMPTY_CORNER).json() == {"vehicles": []}  # a stranger's: not counted
    near = (EMPTY_CORNER[0] + 0.0001, EMPTY_CORNER[1])
    assert search(system, near, another).status_code == 200
    assert search(system, (13.40, 52.52), another).json() == {"vehicles": []}  # Berlin

    (row,) = counts(system.platform)
    # The whole of what is kept: no rider, no exact position, no exact time.
    assert set(row) == {"city_id", "hour", "cell_x", "cell_y", "searches"}
    assert (row["cell_x"], row["cell_y"]) == cell_of(*EMPTY_CORNER)
    assert cell_of(EMPTY_CORNER[0] + 0.0001, EMPTY_CORNER[1]) == cell_of(*EMPTY_CORNER)
    assert (row["city_id"], row["searches"]) == (CITY, 2)
    assert row["hour"] == before.replace(minute=0, second=0, microsecond=0) or (
        row["hour"] - before.replace(minute=0, second=0, microsecond=0) == timedelta(hours=1)
    )

    operator = system.operator()
    answer = system.get(f"/api/v1/ops/unmet-demand?city_id={CITY}", operator)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    lon, lat = cell_center(cell_of(*EMPTY_CORNER))
    assert found["unmet"] == [{"lon": round(lon, 6), "lat": round(lat, 6), "count": 2}]
    assert found["searches"] == 2
    office = cell_center(cell_of(*OFFICE))
    assert found["vehicles"] == [
        {"lon": round(office[0], 6), "lat": round(office[1], 6), "count": 1}
    ]
    today = datetime.now(SHANGHAI).date()
    assert (found["first_day"], found["last_day"]) == (str(today - timedelta(days=6)), str(today))
    yesterday = today - timedelta(days=1)
    earlier = system.get(
        f"/api/v1/ops/unmet-demand?city_id={CITY}&first_day={yesterday - timedelta(days=3)}"
        f"&last_day={yesterday}",
        operator,
    )
    assert earlier.json()["unmet"] == []


def test_the_demand_map_is_for_operators_and_names_bad_days(system):
    set_up_city(system.platform)
    operator, rider = system.operator(), system.rider()
    path = f"/api/v1/ops/unmet-demand?city_id={CITY}"

    assert system.get(path, rider).status_code == 403
    assert system.get(path).status_code == 401
    for query in (
        "&first_day=2026-11-30&last_day=2026-11-01",
        "&first_day=2026-01-01&last_day=2026-11-30",
        "&first_day=yesterday",
        "&last_day=2026-02-30",
    ):
        refused = system.get(path + query, operator)
        assert refused.status_code == 400, (query, refused.text)
        assert refused.json()["error"]["code"] == "invalid_days", query
    unknown = system.get("/api/v1/ops/unmet-demand?city_id=atlantis", operator)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "city_not_found")


def test_a_citys_rebalancing_takes_an_unmet_demand_weight_from_0_to_5(system):
    set_up_city(system.platform)
    operator = system.operator()
    fleet = system.get(f"/api/v1/ops/rebalancing/fleets/{CITY}", operator).json()
    assert fleet["unmet_demand_weight"] == 0
    body = {key: fleet[key] for key in ("depot", "trucks", "speed_kph", "nightly_hour")}
    body["time_limit_seconds"] = fleet["time_limit_seconds"]
    weighed = system.put(
        f"/api/v1/ops/rebalancing/fleets/{CITY}", {**body, "unmet_demand_weight": 0.5}, operator
    )
    assert (weighed.status_code, weighed.json()["unmet_demand_weight"]) == (200, 0.5)
    for wrong in (-1, 6, "1"):
        refused = system.put(
            f"/api/v1/ops/rebalancing/fleets/{CITY}",
            {**body, "unmet_demand_weight": wrong},
            operator,
        )
        assert refused.status_code == 400, wrong
        assert refused.json()["error"]["code"] == "invalid_fleet"


def test_an_operator_sees_where_riders_found_nothing_as_a_heatmap_in_both_languages(system, tab):
    set_up_city(system.platform)
    parked_at(system.platform, OFFICE)
    parked_at(system.platform, OFFICE)
    for _ in range(4):
        search(system, EMPTY_CORNER, system.rider())
    search(system, (EMPTY_CORNER[0] + 0.004, EMPTY_CORNER[1]), system.rider())
    system.platform.unmet_searches.wait_until_counted()

    page = open_console(system, tab, f"demand?city={CITY}")
    expect(page.locator("#demand-summary")).to_contain_text("5 searches found no vehicle")
    expect(page.locator("#demand-summary")).to_contain_text("2 vehicles")
    assert page.locator("#demand-cells tbody tr").all_inner_texts()[0].endswith("\t4")
    expect(page.locator("#demand-cells tbody tr")).to_have_count(2)
    expect(page.locator("#demand-map canvas.leaflet-heatmap-layer")).to_have_count(1)
    # The vehicles' cell is drawn above the heat, in its own pane.
    expect(page.locator("#demand-map .leaflet-vehicles-pane path")).to_have_count(1)
    expect(page.locator("#demand-legend")).to_contain_text("vehicles riders can take now")
    expect(page.locator("#nav a[href='#/demand']")).to_have_class("current")
    assert tab.accessibility_violations() == []
    tab.screenshot("ops-demand")

    page.select_option("#language", "zh-CN")
    expect(page.locator("#main h1")).to_have_text("未满足的需求")
    page.wait_for_selector("#main[data-ready=demand]")
    expect(page.locator("#demand-summary")).to_contain_text("5 次搜索未找到车辆")
    expect(page.locator("#demand-legend")).to_contain_text("当前可用车辆")
    assert tab.accessibility_violations() == []
    tab.screenshot("ops-demand-zh")

    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    page.fill("#first-day", str(yesterday - timedelta(days=2)))
    page.fill("#last-day", str(yesterday))
    page.click("#demand-days button[type=submit]")
    page.wait_for_selector("#no-demand")

    # Leaving the page while the map still zooms leaves no error behind.
    page.click("#demand-map .leaflet-control-zoom-in")
    page.click("#nav a[href='#/alerts']")
    page.wait_for_selector("#main[data-ready=alerts]")
    page.wait_for_timeout(500)  # past the end of Leaflet's zoom animation (250 ms)
    assert tab.problems == []
