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
