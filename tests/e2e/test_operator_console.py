"""The operator console in a real browser (headless Chromium): signing in, and the
rebalancing plan made from the page and shown on its map, route by route."""

from rebalancing import job
from rental.domain.riders import Role
from tests.helpers import RIDER_PASSWORD, make_user
from tests.integration.test_rebalancing import CITY, OFFICE, STATION, bike_at, past_mornings
from tests.integration.test_rebalancing import set_up_city as set_up_rebalancing_city


def sign_in(tab, system, role):
    user = make_user(system.platform, role)
    tab.page.fill("input[name=phone]", user.phone)
    tab.page.fill("input[name=password]", RIDER_PASSWORD)
    tab.page.click("#sign-in button[type=submit]")


def test_a_rider_account_cannot_open_the_console(system, tab):
    tab.page.goto(f"{system.url}/ops/")
    sign_in(tab, system, Role.RIDER)

    tab.page.wait_for_selector("#sign-in-error:has-text('for operators')")
    assert tab.page.is_hidden("#nav") and tab.problems == []


def test_an_operator_plans_the_night_and_sees_each_truck_route_on_the_map(system, tab):
    set_up_rebalancing_city(system.platform)
    piled = [bike_at(system.platform, STATION) for _ in range(12)]
    morning = job.coming_morning(system.platform.now(), job.ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, piled[0], OFFICE, 8, morning)  # the office needs 10

    tab.page.goto(f"{system.url}/ops/#/rebalancing?city={CITY}")
    sign_in(tab, system, Role.OPERATOR)
    tab.page.wait_for_selector("#status:has-text('No plan')")
    tab.page.click("#plan-now")
    tab.page.wait_for_selector("#summary h2:has-text('ready')", timeout=30_000)

    plan = system.get(
        f"/api/v1/ops/rebalancing/plans/latest?city_id={CITY}", system.operator()
    ).json()
    trucks = plan["trucks"]
    assert trucks and sum(len(truck["stops"]) for truck in trucks) >= 2
    page = tab.page
    for truck in trucks:
        card = page.locator(f"article.truck[data-truck='{truck['truck']}'] li")
        expected = [
            f"{'Pick up' if s['bikes'] > 0 else 'Drop'} {abs(s['bikes'])} · {s['site']}"
            for s in truck["stops"]
        ]
        assert card.all_inner_texts() == expected
        # Its route on the map, in its colour, and its numbered stops.
        assert page.locator(f"path.leaflet-interactive[stroke='{truck['colour']}']").count() == 1
        # One marker per place it stops at, numbered with each of its visits there.
        labels = page.locator(f".stop-marker.truck-{truck['truck']}").all_inner_texts()
        visits = {}
        for stop in truck["stops"]:
            visits.setdefault((stop["lon"], stop["lat"]), []).append(str(stop["seq"]))
        assert sorted(labels) == sorted(",".join(seqs) for seqs in visits.values())
    assert page.locator("path.hotspot.deficit[stroke='#b2182b']").count() == 1  # the office
    assert page.locator("path.hotspot.surplus[stroke='#2166ac']").count() == 1  # the station
    summary = plan["summary"]
    imbalance = f"{summary['imbalance_before']} → {summary['imbalance_after']} bikes"
    assert page.inner_text("#imbalance") == imbalance
    tab.screenshot("ops-rebalancing-plan")
    assert tab.problems == []
