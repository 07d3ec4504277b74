"""An operator launches, prices, equips and retires a city from the console, in a real
browser: every step reaches the platform, and every other page's city picker lists it."""

from playwright.sync_api import expect

from rental.services import cities, pricing, rebalancing_fleets
from tests.e2e.test_operator_console import open_console


def test_an_operator_launches_a_city_prices_it_sets_its_trucks_and_retires_it(system, tab):
    page = open_console(system, tab, "cities")

    launch = page.locator("#launch-city")
    launch.locator("[name=id]").fill("lisbon")
    launch.locator("[name=name]").fill("Lisboa")
    launch.locator("[name=time_zone]").fill("Europe/Lisbon")
    launch.locator("[name=currency]").fill("eur")
    launch.locator("[name=locale]").fill("pt-PT")
    launch.locator("[name=lon]").fill("-9.139")
    launch.locator("[name=lat]").fill("38.722")
    launch.locator("button[type=submit]").click()

    expect(page.locator("#city-list tr[data-city=lisbon].current")).to_contain_text("Europe/Lisbon")
    city = cities.city_settings(system.platform.uow(), "lisbon")
    assert (city.name, city.currency, city.locale) == ("Lisboa", "EUR", "pt-PT")
    assert (city.center_lon, city.center_lat) == (-9.139, 38.722)

    plan = page.locator("#pricing-plan")
    plan.locator("[name=kind]").select_option("ebike")
    plan.locator("[name=rate_per_interval_minor]").fill("25")
    plan.locator("[name=interval_seconds]").fill("60")
    plan.locator("[name=unlock_fee_minor]").fill("100")
    plan.locator("button[type=submit]").click()
    expect(page.locator("#cities-status")).to_have_text("lisbon: ebike priced in EUR.")
    [ebike] = pricing.current_pricing_plans(system.platform.uow(), "lisbon")
    assert (ebike.kind, ebike.tariff.currency, ebike.tariff.unlock_fee_minor) == (
        "ebike",
        "EUR",
        100,
    )

    trucks = page.locator("#city-fleet")
    trucks.locator("[name=trucks]").fill("3")
    trucks.locator("[name=nightly_hour]").fill("3")
    expect(trucks.locator("[name=unmet_demand_weight]")).to_have_value("0")
    trucks.locator("[name=unmet_demand_weight]").fill("0.4")
    trucks.locator("button[type=submit]").click()
    expect(page.locator("#cities-status")).to_contain_text(
        "3 truck(s), nightly at 3:00 Europe/Lisbon"
    )
    fleet = rebalancing_fleets.fleet_of(system.platform.uow(), "lisbon")
    assert (len(fleet.trucks), fleet.nightly_hour, fleet.depot) == (3, 3, (-9.139, 38.722))
    assert fleet.unmet_demand_weight == 0.4

    # The other pages pick it from the list of cities.
    page.goto(f"{system.url}/ops/#/zones?city=lisbon")
    page.wait_for_selector("#main[data-ready=zones]")
    expect(page.locator("#city option[value=lisbon]")).to_have_text("Lisboa (lisbon)")

    page.goto(f"{system.url}/ops/#/cities?city=lisbon")
    page.wait_for_selector("#main[data-ready=cities]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#retirement")
    expect(page.locator("#city-list tr[data-city=lisbon] .state")).to_contain_text("retired")
    assert cities.city_settings(system.platform.uow(), "lisbon").is_retired
    assert tab.problems == []
