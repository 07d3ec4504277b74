"""The rebalancing page as the night goes on: every bike of the plan accounted for
(picked up, dropped, back to the depot), and the crews' progress shown live."""

from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from rebalancing.demand import coming_morning
from tests.e2e.test_operator_console import open_console
from tests.integration.test_rebalancing import CITY, OFFICE, STATION, bike_at, past_mornings
from tests.integration.test_rebalancing import set_up_city as set_up_rebalancing_city


def test_the_plan_accounts_for_every_bike_and_its_progress_shows_live(system, tab):
    set_up_rebalancing_city(system.platform)
    piled = [bike_at(system.platform, STATION) for _ in range(12)]
    morning = coming_morning(system.platform.now(), ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, piled[0], OFFICE, 8, morning)  # the office needs 10
    page = open_console(system, tab, f"rebalancing?city={CITY}")
    page.click("#plan-now")
    page.wait_for_selector("#summary h2:has-text('ready')", timeout=30_000)
    operator = system.operator()
    plan = system.get(f"/api/v1/ops/rebalancing/plans/latest?city_id={CITY}", operator).json()
    stops = [(truck["truck"], stop) for truck in plan["trucks"] for stop in truck["stops"]]
    picked = sum(stop["bikes"] for _, stop in stops if stop["bikes"] > 0)
    dropped = sum(-stop["bikes"] for _, stop in stops if stop["bikes"] < 0)
    assert picked > dropped > 0  # more at the station than the office needs

    expect(page.locator("#picked-up")).to_have_text(f"{picked} bikes (0 done)")
    expect(page.locator("#dropped")).to_have_text(f"{dropped} bikes (0 done)")
    expect(page.locator("#to-depot")).to_have_text(
        f"{picked - dropped} bikes, unloaded when the trucks return"
    )
    assert page.locator("#summary").inner_text().count("Bikes moved") == 0
    unloads = [
        f"Back at the depot: unload {load}"
        for truck in plan["trucks"]
        if (load := sum(s["bikes"] for s in truck["stops"])) > 0
    ]
    assert sorted(page.locator("article.truck .depot-step").all_inner_texts()) == sorted(unloads)

    # The crews drive: every stop done, and the page follows without a click.
    for truck, stop in stops:
        path = f"/api/v1/ops/rebalancing/plans/{plan['id']}/trucks/{truck}/stops/{stop['seq']}"
        assert system.post(f"{path}/done", None, operator).status_code == 200

    expect(page.locator("article.truck li.done")).to_have_count(len(stops), timeout=10_000)
    expect(page.locator("#picked-up")).to_have_text(f"{picked} bikes ({picked} done)")
    expect(page.locator("#dropped")).to_have_text(f"{dropped} bikes ({dropped} done)")
    for truck in plan["trucks"]:
        card = page.locator(f"article.truck[data-truck='{truck['truck']}'] .progress")
        expect(card).to_have_text(f"{len(truck['stops'])} of {len(truck['stops'])} stops done")
    tab.screenshot("ops-rebalancing-progress")
    assert tab.problems == []


def test_each_stop_is_named_for_its_driver_with_a_map_link_in_both_languages(system, tab):
    set_up_rebalancing_city(system.platform)
    north_of_station = (STATION[0], STATION[1] + 0.0027)  # 300 m north, outside every hotspot
    strays = [bike_at(system.platform, north_of_station) for _ in range(3)]
    morning = coming_morning(system.platform.now(), ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, strays[0], OFFICE, 2, morning)  # the office needs 3
    page = open_console(system, tab, f"rebalancing?city={CITY}")
    page.click("#plan-now")
    page.wait_for_selector("#summary h2:has-text('ready')", timeout=30_000)
    plan = system.get(
        f"/api/v1/ops/rebalancing/plans/latest?city_id={CITY}", system.operator()
    ).json()
    [(truck, pick)] = [
        (t["truck"], s) for t in plan["trucks"] for s in t["stops"] if s["bikes"] > 0
    ]
    [(_, drop)] = [(t["truck"], s) for t in plan["trucks"] for s in t["stops"] if s["bikes"] < 0]

    def stop_item(stop):
        return page.locator(f"article.truck[data-truck='{truck}'] li[data-seq='{stop['seq']}']")

    expect(stop_item(pick)).to_contain_text("Pick up 3 · 300 m north of Station")
    expect(stop_item(drop)).to_contain_text("Drop 3 · at Office")
    link = stop_item(pick).locator("a.map-link")
    lat, lon = f"{pick['lat']:.6f}", f"{pick['lon']:.6f}"
    assert link.get_attribute("href") == f"geo:{lat},{lon}?q={lat},{lon}"
    assert abs(float(lat) - north_of_station[1]) < 0.0005  # the strays' own spot

    page.select_option("#language", "zh-CN")
    expect(stop_item(pick)).to_contain_text("装车 3 辆 · Station北方向 300 米")
    expect(stop_item(pick).locator("a.map-link")).to_have_text("地图")
    tab.screenshot("ops-rebalancing-stops-zh")
    page.select_option("#language", "en")
    assert tab.problems == []
