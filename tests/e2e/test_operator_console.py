"""The operator console in a real browser (headless Chromium): signing in, and the
rebalancing plan made from the page and shown on its map, route by route."""

import json
import re
import uuid
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from rebalancing.demand import coming_morning
from rental.domain.riders import Role
from tests.browser import HeldAnswers
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY as HELPER_CITY
from tests.helpers import RIDER_PASSWORD, make_city, make_user
from tests.integration.test_rebalancing import CITY, OFFICE, STATION, bike_at, past_mornings
from tests.integration.test_rebalancing import set_up_city as set_up_rebalancing_city


def sign_in(tab, system, role):
    user = make_user(system.platform, role)
    tab.page.fill("input[name=phone]", user.phone)
    tab.page.fill("input[name=password]", RIDER_PASSWORD)
    tab.page.click("#sign-in button[type=submit]")


def open_console(system, tab, path):
    """The console at `path` (e.g. "zones?city=x"), signed in as a new operator, ready."""
    tab.page.goto(f"{system.url}/ops/#/{path}")
    sign_in(tab, system, Role.OPERATOR)
    tab.page.wait_for_selector(f"#main[data-ready={path.split('?')[0]}]")
    return tab.page


def test_a_rider_account_cannot_open_the_console(system, tab):
    tab.page.goto(f"{system.url}/ops/")
    sign_in(tab, system, Role.RIDER)

    tab.page.wait_for_selector("#sign-in-error:has-text('for operators')")
    assert tab.page.is_hidden("#nav") and tab.problems == []


def test_an_operator_plans_the_night_and_sees_each_truck_route_on_the_map(system, tab):
    set_up_rebalancing_city(system.platform)
    piled = [bike_at(system.platform, STATION) for _ in range(12)]
    morning = coming_morning(system.platform.now(), ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, piled[0], OFFICE, 8, morning)  # the office needs 10

    open_console(system, tab, f"rebalancing?city={CITY}")
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
            f"{'Pick up' if s['bikes'] > 0 else 'Drop'} {abs(s['bikes'])} · at {s['site']} Map"
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


def test_an_operator_registers_a_bike_prints_its_label_and_sees_it_in_the_fleet(system, tab):
    make_city(system.platform)
    page = open_console(system, tab, f"register?city={HELPER_CITY}")

    lock_id = f"T-{uuid.uuid4().hex[:12]}"
    page.fill("#provision-lock input[name=lock_id]", lock_id)
    page.click("#provision-lock button[type=submit]")
    expect(page.locator("#new-lock-id")).to_have_text(lock_id)
    secrets = page.locator("#lock-credentials .secret").all_inner_texts()
    assert page.input_value("#register-asset input[name=lock_id]") == lock_id
    page.fill("#register-asset input[name=code]", "BK77001")
    page.click("#register-asset button[type=submit]")
    label = page.locator("#label-BK77001")
    expect(label).to_contain_text("BK77001")
    assert label.locator("img").get_attribute("src").startswith("data:image/svg+xml")
    assert label.locator("img").get_attribute("alt") == f"{system.url}/q/BK77001"
    tab.screenshot("ops-register-label")
    operator = system.operator()
    again = system.get("/api/v1/ops/assets/BK77001/label", operator).json()
    assert again["qr"] == f"{system.url}/q/BK77001"
    assert again["qr_image"] == label.locator("img").get_attribute("src")
    assert system.get("/api/v1/ops/assets/BK00000/label", operator).status_code == 404

    # The lock, flashed with what the page showed once, comes online on the broker, over
    # TLS with the CA the page showed.
    broker = page.inner_text("#new-lock-broker")
    assert broker.startswith("mqtts://")
    ca = page.locator("#new-lock-ca").text_content()
    mqtt = {"broker": broker, "password": secrets[0], "ca": ca}
    system.go_online({"lock_id": lock_id, "mqtt": mqtt, "signing_key": secrets[1]})
    page.click("#nav a[href='#/fleet']")
    row = page.locator("tr[data-code='BK77001']")
    expect(row).to_have_attribute("data-state", "available")
    expect(page.locator("[data-count=available]")).to_have_text("Available: 1")
    tab.screenshot("ops-fleet")
    assert tab.problems == []


def test_an_operator_draws_a_no_parking_zone_and_publishes_it(system, tab):
    make_city(system.platform)
    page = open_console(system, tab, f"zones?city={HELPER_CITY}")

    box = page.locator("#zones-map").bounding_box()
    for dx, dy in ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    page.select_option("#draw-zone select[name=kind]", "no_parking")
    page.fill("#draw-zone input[name=name]", "Station forecourt")
    page.click("#add-zone")
    page.click("#save-zones")

    expect(page.locator("#zones-status")).to_have_text(f"Saved: 1 zones are live in {HELPER_CITY}.")
    assert len(page.locator("#zone-list li").all()) == 1
    public = system.get(f"/api/v1/cities/{HELPER_CITY}/zones").json()
    [zone] = public["features"]
    assert zone["properties"]["kind"] == "no_parking"
    assert zone["properties"]["name"] == "Station forecourt"
    assert zone["geometry"]["type"] == "MultiPolygon"  # how zones are stored
    assert len(zone["geometry"]["coordinates"][0][0]) == 5  # four corners, closed
    assert tab.problems == []


def test_the_books_page_shows_balanced_books(system, tab):
    system.rider(credit_minor=500)  # a promotion: postings on both sides
    open_console(system, tab, "books")

    expect(tab.page.locator("#books-state")).to_contain_text("Balanced")
    assert tab.problems == []


def test_a_disputed_fare_is_refunded_from_the_console_and_the_rider_sees_it(system, tab, phone):
    code, lock = system.bike()
    signed_in(phone, system)
    rider_page = phone.page
    rider_page.goto(f"{system.url}/app/#/unlock/{code}")
    rider_page.click("#unlock")
    rider_page.wait_for_url(re.compile(r"#/trip/"))
    lock.close()
    rider_page.fill("#dispute textarea[name=reason]", "The lock jammed at the end")
    rider_page.click("#dispute button[type=submit]")
    expect(rider_page.locator("#dispute-status")).to_contain_text("we will review")

    open_console(system, tab, "disputes")
    case = tab.page.locator("#disputes form").first
    expect(case).to_contain_text("The lock jammed at the end")
    case.locator("input[name=refund]").fill("1.00")
    case.locator("input[name=note]").fill("jammed lock confirmed")
    case.locator("button[type=submit]").click()
    expect(case).to_contain_text("Resolved: refunded.")

    rider_page.reload()
    expect(rider_page.locator("#dispute-state")).to_have_text("Refunded · jammed lock confirmed")
    rider_page.click("#tabs a[data-screen=wallet]")
    expect(rider_page.locator("#balance")).to_have_text("CN¥9.50")  # 10 - 1.50 + 1.00
    assert tab.problems == [] and phone.problems == []


def test_an_operator_closes_every_damage_report_of_a_bike_in_one_action(system, tab):
    code, _ = system.bike()
    first, second = system.rider(), system.rider()

    def hold(rider, key):
        held = system.post("/api/v1/reservations", {"code": code, "idempotency_key": key}, rider)
        assert held.status_code == 201, held.text
        return f"/api/v1/reservations/{held.json()['id']}/cancel"

    # Riders who held the bike moments ago may report it: one held it before, one holds it.
    assert system.post(hold(first, "hold-0001"), None, first).ok
    cancel_second = hold(second, "hold-0002")
    for rider, category, note in (
        (first, "brakes", "front brake loose"),
        (second, "chain", "the chain slips"),
    ):
        report = {"code": code, "category": category, "note": note}
        assert system.post("/api/v1/damage-reports", report, rider).status_code == 201
    assert system.post(cancel_second, None, second).ok

    open_console(system, tab, f"reports?city={HELPER_CITY}")
    assert tab.page.locator("#reports form").count() == 1  # one case per bike
    case = tab.page.locator("#reports form").first
    expect(case).to_contain_text(f"{code}: ")
    expect(case).to_contain_text("front brake loose")
    expect(case).to_contain_text("the chain slips")
    case.locator("input[name=resolution]").fill("brake cable tightened, chain replaced")
    case.locator("button[type=submit]", has_text="Close all 2 reports").click()

    expect(case).to_have_text(f"{code}: closed.")
    quote = system.get(f"/api/v1/assets/{code}/quote", first).json()
    assert "damaged" not in quote["unavailable"]
    listed = system.get("/api/v1/ops/damage-reports?state=open", system.operator()).json()
    assert listed["reports"] == []
    assert tab.problems == []


def test_an_operator_imports_zones_from_a_geojson_file(system, tab, tmp_path):
    make_city(system.platform)
    document = tmp_path / "zones.geojson"
    document.write_text(json.dumps(CITY_MAP))
    page = open_console(system, tab, f"zones?city={HELPER_CITY}")

    page.set_input_files("#zones-file", str(document))
    expect(page.locator("#zones-status")).to_have_text("1 zones read. Save to publish them.")
    page.click("#save-zones")

    expect(page.locator("#zones-status")).to_contain_text("Saved: 1 zones")
    public = system.get(f"/api/v1/cities/{HELPER_CITY}/zones").json()
    assert [f["properties"]["name"] for f in public["features"]] == ["Centre"]
    page.set_input_files(
        "#zones-file", {"name": "x.json", "mimeType": "application/json", "buffer": b"[1]"}
    )
    expect(page.locator("#zones-status")).to_have_text(
        "That file cannot be used: not a GeoJSON FeatureCollection"
    )
    assert tab.problems == []


def test_signing_out_of_the_console_ends_the_session_on_the_platform(system, tab):
    page = open_console(system, tab, "books")
    token = page.evaluate("sessionStorage.getItem('rental.token')")
    page.click("#sign-out")

    page.wait_for_selector("#sign-in")
    assert page.evaluate("sessionStorage.getItem('rental.refresh')") is None
    refused = system.http.get(
        system.url + "/api/v1/ops/books", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.json()["error"]["code"] == "session_ended"
    assert tab.problems == []


def test_a_page_opened_while_another_still_loads_stays_the_one_shown(system, tab):
    make_city(system.platform)
    page = tab.page
    open_console(system, tab, "books")
    held = HeldAnswers(page, "**/api/v1/ops/assets*")  # answered once the operator moved on
    page.goto(f"{system.url}/ops/#/fleet?city={HELPER_CITY}")
    held.wait()

    page.goto(f"{system.url}/ops/#/books")
    page.wait_for_selector("#main[data-ready=books]")
    held.release()
    page.wait_for_timeout(500)  # the fleet page ends its load meanwhile

    assert page.get_attribute("#main", "data-ready") == "books"
    assert page.locator("#main [role=alert]").count() == 0
    assert tab.problems == []
