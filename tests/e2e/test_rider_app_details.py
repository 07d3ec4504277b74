"""The rider app's details riders trip over, in a real browser on a phone's screen: the
printable receipt, a ride or hold found again on start, distances from where the rider
stands, words for every error and trip state in both languages (scanners that cannot read
QR codes: test_rider_app.py), and a service worker that shows a release at once and never
keeps a failure."""

import math
import re
import shutil
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeSerializer
from playwright.sync_api import expect

import rental.web
from rental.api.receipts import PRINTABLE_LINK_SALT
from rental.domain.riders import Role
from tests.browser import HeldAnswers, Tab
from tests.e2e.system import SHANGHAI
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_rider_app import signed_in
from tests.e2e.test_rider_deposit_and_hold import phone_in
from tests.helpers import CITY, RIDER_PASSWORD, make_user

EARTH_RADIUS_M = 6_371_000  # the sphere Leaflet measures on (L.CRS.Earth.R)


def ride_and_end(system, phone, code, lock):
    page = phone.page
    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))
    rental_id = page.url.rsplit("/", 1)[1]
    lock.close()
    page.wait_for_selector("#receipt-total", timeout=15_000)
    return rental_id


def test_the_printable_receipt_opens_in_a_tab_of_its_own_for_its_rider_only(system, phone):
    code, lock = system.bike()
    signed_in(phone, system)
    rental_id = ride_and_end(system, phone, code, lock)
    number = phone.page.get_attribute("#receipt-qr", "alt")  # "Receipt R..."
    assert phone.page.inner_text("#receipt-total") == "Total: CN¥1.50"

    with phone.page.expect_popup() as opened:
        phone.page.click("#printable")
    printable = opened.value
    printable.wait_for_load_state()

    # The rider's receipt, not an error about a missing token.
    assert printable.inner_text("h1") == number
    assert printable.locator("tr.t td.n").inner_text() == "1.50 CNY"
    link = phone.page.get_attribute("#printable", "href")
    assert "link=" in link and "Bearer" not in link

    # A link opens its own rental only: not another one of the same rider, nor anyone's
    # with a made-up or stale signature.
    other_code, other_lock = system.bike()
    other_rental = ride_and_end(system, phone, other_code, other_lock)
    signature = parse_qs(urlsplit(link).query)["link"][0]  # the link also names its language
    swapped = system.get(f"/api/v1/rentals/{other_rental}/receipt.html?link={signature}")
    assert swapped.status_code == 401 and swapped.json()["error"]["code"] == "invalid_link"
    forged = system.get(f"/api/v1/rentals/{rental_id}/receipt.html?link={signature[:-2]}xx")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_link"
    signer = URLSafeSerializer(system.platform.config.SECRET_KEY, salt=PRINTABLE_LINK_SALT)
    claims = signer.loads(signature)
    stale = signer.dumps({**claims, "exp": int(time.time()) - 1})
    expired = system.get(f"/api/v1/rentals/{rental_id}/receipt.html?link={stale}")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "link_expired"
    # Another rider's signed link names that rider: this rental's receipt is not theirs.
    stranger = system.rider()
    theirs = signer.dumps({**claims, "sub": str(stranger.id)})
    refused = system.get(f"/api/v1/rentals/{rental_id}/receipt.html?link={theirs}")
    assert refused.status_code == 404
    assert phone.problems == []


def test_reopening_the_app_during_a_ride_goes_back_to_the_ride(system, phone):
    code, lock = system.bike()
    signed_in(phone, system)
    page = phone.page
    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))
    trip = page.url.split("#", 1)[1]

    page.goto("about:blank")
    page.goto(f"{system.url}/app/")

    page.wait_for_url(re.compile(f"#{trip}$"))
    expect(page.locator("#trip-fare")).to_have_text("CN¥1.50")
    # From the map too, the ride is one tap away.
    page.click("#tabs a[data-screen=map]")
    expect(page.locator("#ongoing a")).to_have_attribute("href", f"#{trip}")
    assert not lock.logic.locked and phone.problems == []


def test_reopening_the_app_while_holding_a_bike_goes_back_to_the_hold(system, phone):
    code, _ = system.bike()
    signed_in(phone, system)
    page = phone.page
    page.goto(f"{system.url}/app/#/map")
    page.click(f".vehicle-marker[title='{code}']")
    page.click("#vehicle button:has-text('Hold it for me')")
    expect(page.locator("#hold")).to_contain_text("Held until")

    page.goto("about:blank")
    page.goto(f"{system.url}/app/")

    page.wait_for_url(re.compile(r"#/hold$"))
    expect(page.locator("#hold")).to_contain_text("Held until")
    page.click("#tabs a[data-screen=map]")
    expect(page.locator("#ongoing a")).to_have_attribute("href", "#/hold")
    assert phone.problems == []


def metres_between(a, b):
    """Great-circle distance of two (lon, lat) points, on Leaflet's sphere."""
    (lon1, lat1), (lon2, lat2) = (map(math.radians, point) for point in (a, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def test_a_vehicle_is_as_far_away_as_it_is_from_the_rider_not_from_the_map_centre(system, browser):
    rider_at = (SHANGHAI[0] + 0.001, SHANGHAI[1] + 0.001)
    bike_at = (rider_at[0] + 0.0035, rider_at[1] + 0.0015)  # east-north-east, some 380 m
    code, _ = system.bike(at=bike_at)
    here = {"longitude": rider_at[0], "latitude": rider_at[1]}
    phone = Tab(
        browser, 360, 740, is_mobile=True, has_touch=True, locale="en-US",
        geolocation=here, permissions=["geolocation"],
    )  # fmt: skip
    try:
        signed_in(phone, system)
        page = phone.page
        # The map opens on the rider and the nearest vehicles: its centre lies between.
        page.click(f".vehicle-marker[title='{code}']")

        expected = round(metres_between(rider_at, bike_at))
        assert 350 < expected < 420
        expect(page.locator("#vehicle-away")).to_have_text(f"{expected} m away")
        assert phone.problems == []
    finally:
        phone.close()


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en-US", "This is an operator's account. Operators sign in to the console at /ops/."),
        ("zh-CN", "这是运营人员账号。运营人员请在 /ops/ 登录管理后台。"),
    ],
)
def test_an_operator_signing_in_to_the_rider_app_is_told_where_to_go(
    system, browser, locale, words
):
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    try:
        operator = make_user(system.platform, Role.OPERATOR)
        page = phone.page
        page.goto(f"{system.url}/app/#/signin")  # with the password: operators have one
        page.fill("input[name=phone]", operator.phone)
        page.fill("input[name=password]", RIDER_PASSWORD)
        page.click("#credentials button[type=submit]")

        expect(page.locator("#form-error")).to_have_text(words)
        assert page.is_hidden("#tabs") and phone.problems == []
    finally:
        phone.close()


def test_a_failed_unlock_is_listed_in_the_riders_words_in_both_languages(system, phone):
    code, _ = system.bike(never_confirm=True)
    signed_in(phone, system)
    page = phone.page
    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    expect(page.locator("#unlock-status")).to_contain_text("did not answer", timeout=15_000)

    page.click("#tabs a[data-screen=trips]")
    expect(page.locator("#trips li .amount")).to_have_text(["Did not unlock"])
    page.click("#tabs a[data-screen=me]")
    page.select_option("#language", "zh-CN")
    page.wait_for_selector("h1:has-text('我的')")
    page.click("#tabs a[data-screen=trips]")
    expect(page.locator("#trips li .amount")).to_have_text(["开锁失败"])
    assert phone.problems == []


@pytest.fixture
def static_copy(tmp_path, monkeypatch):
    """The web pages served from a copy, which a test may change as a release would."""
    copy = tmp_path / "static"
    shutil.copytree(rental.web.STATIC, copy)
    monkeypatch.setattr(rental.web, "STATIC", copy)
    return copy


def installed(phone, system):
    """The app signed in, its service worker in control and its files kept."""
    signed_in(phone, system)
    phone.page.evaluate("navigator.serviceWorker.ready")
    phone.page.reload()
    phone.page.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.page.wait_for_selector("#tabs a.current[data-screen=map]")


def test_a_release_shows_at_once_in_the_installed_app(system, phone, static_copy):
    installed(phone, system)
    page = phone.page
    expect(page.locator("#tabs a[data-screen=map] span")).to_have_text("Map")

    messages = static_copy / "app" / "messages" / "en.json"
    messages.write_text(messages.read_text().replace('"nav.map": "Map"', '"nav.map": "Explore"'))
    page.goto("about:blank")
    page.goto(f"{system.url}/app/#/map")

    expect(page.locator("#tabs a[data-screen=map] span")).to_have_text("Explore")


def test_a_failed_answer_while_online_is_never_kept_for_offline_starts(system, phone, static_copy):
    installed(phone, system)
    page = phone.page
    page_file = static_copy / "app" / "index.html"
    kept = page_file.read_text()
    page_file.unlink()  # a deploy under way: /app/ is not found for a moment
    assert system.get("/app/").status_code == 404
    page.goto("about:blank")
    page.goto(f"{system.url}/app/#/map")
    page_file.write_text(kept)

    phone.context.set_offline(True)
    page.goto("about:blank")
    page.goto(f"{system.url}/app/#/map")

    expect(page.locator("#tabs a[data-screen=map] span")).to_have_text("Map")


def square_around(lon, lat, half):
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def test_the_rider_map_and_the_ride_map_draw_the_citys_zones(system, phone):
    code, _ = system.bike()
    no_parking = {
        "type": "Feature",
        "geometry": square_around(SHANGHAI[0] + 0.002, SHANGHAI[1], 0.0005),
        "properties": {"kind": "no_parking", "name": "Station forecourt"},
    }
    zones = {**CITY_MAP, "features": [*CITY_MAP["features"], no_parking]}
    assert system.put(f"/api/v1/ops/zones/{CITY}", zones, system.operator()).ok
    signed_in(phone, system)
    page = phone.page

    expect(page.locator("#map path.zone-service_area")).to_have_count(1)
    expect(page.locator("#map path.zone-no_parking")).to_have_count(1)
    assert page.get_attribute("#map path.zone-no_parking", "fill") == "#d7301f"  # red
    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))
    expect(page.locator("#trip-map path.zone-service_area")).to_have_count(1)
    expect(page.locator("#trip-map path.zone-no_parking")).to_have_count(1)
    assert phone.problems == []


def test_the_power_banks_of_one_cabinet_are_one_marker_that_says_how_many(system, phone):
    banks = {slot: f"PB{uuid.uuid4().hex[:8].upper()}" for slot in range(1, 7)}
    system.cabinet("power_bank", banks, slots=6)
    signed_in(phone, system)
    page = phone.page

    spot = page.locator(".vehicle-marker.spot")
    expect(spot).to_have_count(1)
    assert spot.inner_text() == "6" and spot.get_attribute("title") == "6 available here"
    spot.click()
    listed = page.locator("#spot li button")
    expect(listed).to_have_count(6)
    assert sorted(t.split()[-1] for t in listed.all_inner_texts()) == sorted(banks.values())
    listed.nth(5).click()
    expect(page.locator("#vehicle h2")).to_have_text(re.compile(r" PB[0-9A-F]{8}$"))
    assert phone.problems == []


@pytest.mark.parametrize(
    ("locale", "title"), [("en-US", "3 available here"), ("zh-CN", "此处共 3 个可用")]
)
def test_bikes_parked_side_by_side_are_one_marker_and_a_tap_lists_them(
    system, browser, locale, title
):
    lon, lat = SHANGHAI
    side_by_side = [system.bike(at=(lon + i * 0.00003, lat))[0] for i in range(3)]  # 3 m
    apart, _ = system.bike(at=(lon, lat + 0.0027))  # 300 m north
    phone = phone_in(browser, locale)
    try:
        signed_in(phone, system)
        page = phone.page

        spot = page.locator(".vehicle-marker.spot")
        expect(spot).to_have_count(1)
        assert spot.inner_text() == "3" and spot.get_attribute("title") == title
        expect(page.locator(f".vehicle-marker[title='{apart}']")).to_have_count(1)
        spot.click()
        listed = page.locator("#spot li button")
        expect(listed).to_have_count(3)
        assert sorted(t.split()[-1] for t in listed.all_inner_texts()) == sorted(side_by_side)
        phone.screenshot(f"app-map-spot-{locale}")
        assert phone.problems == []
    finally:
        phone.close()


def test_a_crowd_seen_from_afar_is_one_marker_and_a_tap_zooms_in_on_it(system, phone):
    lon, lat = SHANGHAI
    row = [system.bike(at=(lon + i * 0.0005, lat))[0] for i in range(4)]  # 48 m apart
    signed_in(phone, system)
    page = phone.page
    expect(page.locator(".vehicle-marker:not(.spot)")).to_have_count(4)
    for _ in range(3):  # from the street to the district
        page.click(".leaflet-control-zoom-out")
        page.wait_for_timeout(400)

    crowd = page.locator(".vehicle-marker.spot")
    expect(crowd).to_have_count(1)
    assert crowd.inner_text() == "4"
    crowd.click()

    expect(page.locator(".vehicle-marker.spot")).to_have_count(0)
    expect(page.locator(".vehicle-marker:not(.spot)")).to_have_count(4)
    assert sorted(
        page.locator(".vehicle-marker:not(.spot)").evaluate_all("els => els.map(e => e.title)")
    ) == sorted(row)
    assert page.locator("#spot").count() == 0
    assert phone.problems == []


def test_a_screen_opened_while_the_map_still_loads_stays_the_one_shown(system, phone):
    code, _ = system.bike()
    page = phone.page
    held = HeldAnswers(page, "**/api/v1/vehicles/nearby*")  # answered once the rider moved on
    signed_in_without_waiting(phone, system)
    page.wait_for_function("() => document.querySelector('#main #map-status') !== null")
    held.wait()  # the map asks for the vehicles near it

    page.goto(f"{system.url}/app/#/report/{code}")
    page.wait_for_selector("#main[data-ready=report]")
    held.release()
    page.wait_for_timeout(500)  # the map's screen ends its load meanwhile

    assert page.get_attribute("#main", "data-ready") == "report"
    expect(page.locator("#report")).to_be_visible()
    assert page.locator("#main [role=alert]").count() == 0
    assert phone.problems == []


def signed_in_without_waiting(phone, system):
    rider = make_user(system.platform, Role.RIDER, 1000)
    phone.page.goto(f"{system.url}/app/#/signin")
    phone.page.fill("input[name=phone]", rider.phone)
    phone.page.fill("input[name=password]", RIDER_PASSWORD)
    phone.page.click("#credentials button[type=submit]")
