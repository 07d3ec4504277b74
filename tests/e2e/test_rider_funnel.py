"""The rider funnel over HTTP on the real database: the app's steps (a closed list, a bad
name refused), a scan joined to the app's visit by its header through to the lock's
confirmation, a map with nothing near; operators read it, riders cannot. In the browser: riders
on phones go from the map to the scan, and an operator reads their steps in the console,
in English and Chinese."""

import re
import uuid

from playwright.sync_api import expect

from rental.domain.funnel import NOTHING_NEARBY, STEPS, FunnelMark, Step, local_day
from rental.services.wallet import charge_fare
from tests.browser import Tab
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY, eventually, make_city

FUNNEL = f"/api/v1/ops/funnel?city_id={CITY}"


def report(system, visit, *steps, city=CITY):
    body = {"visit_id": str(visit), "events": [{"step": s, "city_id": city} for s in steps]}
    return system.post("/api/v1/app-events", body)


def funnel_of(system, operator):
    answer = system.get(FUNNEL, operator)
    assert answer.status_code == 200, answer.text
    return {step["step"]: step for step in answer.json()["steps"]}


def refusal(answer):
    return answer.status_code, answer.json()["error"]["code"]


def test_the_app_reports_its_steps_from_a_closed_list(system):
    make_city(system.platform)
    visit = uuid.uuid4()
    sent = report(system, visit, "map_opened", "vehicle_viewed", "map_opened")
    assert (sent.status_code, sent.json()) == (202, {"recorded": 2})
    assert report(system, visit, "map_opened").json() == {"recorded": 0}

    assert refusal(report(system, visit, "teleported")) == (400, "invalid_step")
    assert refusal(report(system, visit, "unlocked")) == (400, "invalid_step")
    assert refusal(report(system, "rider-42", "map_opened")) == (400, "invalid_visit_id")
    assert refusal(report(system, visit, *["price_seen"] * 21)) == (400, "invalid_events")
    assert refusal(report(system, visit)) == (400, "invalid_events")
    assert refusal(report(system, visit, "map_opened", city="atlantis")) == (
        404,
        "city_not_found",
    )
    extra = {"visit_id": str(visit), "events": [], "rider_id": "x"}
    assert system.post("/api/v1/app-events", extra).status_code == 400

    steps = funnel_of(system, system.operator())
    assert (steps["map_opened"]["visits"], steps["vehicle_viewed"]["visits"]) == (1, 1)


def test_a_scan_in_the_apps_visit_is_followed_to_the_unlock(system):
    operator, rider = system.operator(), system.rider()
    code, _ = system.bike()
    visit = uuid.uuid4()
    report(system, visit, "map_opened", "vehicle_viewed", "price_seen")
    body = {"qr": code, "idempotency_key": uuid.uuid4().hex}
    headers = {**rider.headers, "X-App-Visit": str(visit)}
    scanned = system.http.post(f"{system.url}/api/v1/rentals?wait=5", json=body, headers=headers)
    assert scanned.status_code == 202, scanned.text
    system.wait_state(rider, scanned.json()["id"], "active")

    # A header that is no UUID is no reason to refuse a scan: it counts outside a visit.
    other = system.rider()
    second, _ = system.bike()
    odd = {**other.headers, "X-App-Visit": "not-a-visit"}
    again = {"qr": second, "idempotency_key": uuid.uuid4().hex}
    assert system.http.post(f"{system.url}/api/v1/rentals", json=again, headers=odd).ok

    def counted() -> bool:
        return funnel_of(system, operator)["unlocked"]["visits"] >= 1

    eventually(counted, what="the unlock counted")
    steps = funnel_of(system, operator)
    assert [steps[name]["visits"] for name in ("map_opened", "price_seen", "scan")] == [1, 1, 2]
    assert steps["scan"]["conversion"] == 2.0  # one scan came outside any app visit


def test_money_owed_and_nothing_nearby_are_drop_outs(system):
    make_city(system.platform)
    operator, rider = system.operator(), system.rider(credit_minor=0)
    code, _ = system.bike()
    visit = uuid.uuid4()
    with system.platform.uow() as uow:  # a fare from before the wallet could not pay
        charge_fare(uow, rider.id, "CNY", 300, f"fare:{rider.id}", wallet_floor_minor=0)
        uow.commit()
    headers = {**rider.headers, "X-App-Visit": str(visit)}
    body = {"qr": code, "idempotency_key": uuid.uuid4().hex}
    scanned = system.http.post(f"{system.url}/api/v1/rentals", json=body, headers=headers)
    assert refusal(scanned) == (409, "debt_outstanding")

    # The map looks at the city's edge, where no vehicle stands.
    empty = "/api/v1/vehicles/nearby?lon=121.52&lat=31.23&radius_m=100"
    assert system.http.get(system.url + empty, headers={"X-App-Visit": str(visit)}).ok
    assert system.get(empty).json() == {"vehicles": []}  # no visit: not counted

    steps = funnel_of(system, operator)
    assert steps["unlocked"]["drop_outs"] == [{"reason": "debt_outstanding", "visits": 1}]
    assert steps["vehicle_viewed"]["drop_outs"] == [{"reason": "nothing_nearby", "visits": 1}]


def test_a_deposit_due_on_the_unlock_screen_is_a_drop_out_before_the_scan(system):
    code, _ = system.bike()
    operator, rider = system.operator(), system.rider()
    price = {"rate_per_interval_minor": 150, "interval_seconds": 1800, "deposit_minor": 9900}
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", price, operator).ok
    headers = {**rider.headers, "X-App-Visit": str(uuid.uuid4())}
    for _ in range(2):  # the screen shown twice: one visit, one drop-out
        quoted = system.http.get(f"{system.url}/api/v1/assets/{code}/quote", headers=headers)
        assert quoted.json()["deposit_due_minor"] == 9900
    assert system.get(f"/api/v1/assets/{code}/quote", rider).ok  # no visit: not counted

    steps = funnel_of(system, operator)
    assert steps["scan"]["visits"] == 0
    assert steps["scan"]["drop_outs"] == [{"reason": "deposit_required", "visits": 1}]


def test_the_funnel_is_for_operators_and_names_bad_input(system):
    make_city(system.platform)
    operator, rider = system.operator(), system.rider()
    assert system.get(FUNNEL, rider).status_code == 403
    assert system.get(FUNNEL).status_code == 401
    backwards = system.get(f"{FUNNEL}&from=2026-11-30&to=2026-11-01", operator)
    assert refusal(backwards) == (400, "invalid_days")
    assert system.get(f"{FUNNEL}&from=someday", operator).status_code == 400
    assert refusal(system.get("/api/v1/ops/funnel?city_id=atlantis", operator)) == (
        404,
        "city_not_found",
    )
    answer = system.get(f"{FUNNEL}&from=2026-11-01&to=2026-11-30", operator).json()
    assert (answer["first_day"], answer["last_day"]) == ("2026-11-01", "2026-11-30")
    assert [step["step"] for step in answer["steps"]] == [
        "map_opened",
        "vehicle_viewed",
        "price_seen",
        "scan",
        "unlocked",
        "ride_ended",
    ]
    assert all(step["visits"] == 0 for step in answer["steps"])


def ride_from_the_map(phone, system, code):
    """A rider on a phone opens the map, views the bike `code`, sees its price and scans."""
    signed_in(phone, system)
    page = phone.page
    page.click(f".vehicle-marker[title='{code}']")
    page.wait_for_selector(f"#vehicle h2:has-text('{code}')")
    page.click("#vehicle button.primary")
    page.wait_for_selector("#price")
    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))


def test_an_operator_sees_the_riders_steps_in_the_console_in_both_languages(
    system, browser, phone, tab
):
    first, lock = system.bike()
    ride_from_the_map(phone, system, first)
    phone.screenshot("funnel-app-en")
    assert phone.problems == []
    lock.close()  # the first ride ends at once
    second, _ = system.bike(at=(121.4712, 31.2305))  # apart: a marker of its own
    chinese = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        ride_from_the_map(chinese, system, second)
        chinese.screenshot("funnel-app-zh")
        assert chinese.problems == []
    finally:
        chinese.close()
    operator = system.operator()

    seen: list[int] = []

    def all_counted() -> bool:
        steps = funnel_of(system, operator)
        seen[:] = [steps[name]["visits"] for name in STEPS]
        return seen == [2, 2, 2, 2, 2, 1]

    try:
        eventually(all_counted, what="both visits' steps counted")
    except AssertionError as late:
        raise AssertionError(f"visits per step: {seen}") from late

    page = open_console(system, tab, f"funnel?city={CITY}")
    rows = page.locator("#funnel-steps tbody tr")
    expect(rows).to_have_count(6)
    visits = page.locator("#funnel-steps tbody td.visits").all_inner_texts()
    assert visits == ["2", "2", "2", "2", "2", "1"]
    conversions = page.locator("#funnel-steps tbody td.conversion").all_inner_texts()
    assert conversions == ["—", "100.0%", "100.0%", "100.0%", "100.0%", "50.0%"]
    assert page.inner_text("[data-step=price_seen] td:first-child") == "Price seen"
    chart = page.evaluate("Chart.getChart('funnel-chart').data.datasets[0].data")
    assert chart == [2, 2, 2, 2, 2, 1]
    tab.screenshot("ops-funnel")

    page.select_option("#language", "zh-CN")
    expect(page.locator("#main h1")).to_have_text("骑行漏斗")
    assert page.inner_text("[data-step=price_seen] td:first-child") == "看到价格"
    assert page.inner_text("#nav a[href='#/funnel']") == "骑行漏斗"
    tab.screenshot("ops-funnel-zh")
    assert tab.problems == []


def test_the_console_shows_why_visits_dropped_out(system, tab):
    make_city(system.platform)
    with system.platform.uow() as uow:
        zone = uow.cities.timezone_of(CITY)
        assert zone is not None
        day = local_day(system.platform.now(), zone)
        visit = uuid.uuid4()
        uow.funnel.add(
            [
                FunnelMark(CITY, day, Step.MAP_OPENED, visit_id=visit),
                FunnelMark(CITY, day, Step.VEHICLE_VIEWED, NOTHING_NEARBY, visit),
                FunnelMark(CITY, day, Step.SCAN),
                FunnelMark(CITY, day, Step.UNLOCKED, "deposit_required"),
            ]
        )
        uow.commit()
    page = open_console(system, tab, f"funnel?city={CITY}")
    assert page.inner_text("[data-step=vehicle_viewed] .drop-outs") == "Nothing nearby: 1"
    assert page.inner_text("[data-step=unlocked] .drop-outs") == "Deposit needed: 1"
    dropped = page.evaluate("Chart.getChart('funnel-chart').data.datasets[1].data")
    assert dropped == [0, 1, 0, 0, 1, 0]

    page.select_option("#language", "zh-CN")
    expect(page.locator("[data-step=unlocked] .drop-outs")).to_have_text("需要押金：1")  # noqa: RUF001
    page.fill("#from", "2026-11-01")
    page.fill("#to", "2026-11-02")
    page.click("#days button[type=submit]")
    expect(page.locator("#funnel-days")).to_contain_text("2026-11-01 至 2026-11-02")
    assert page.inner_text("[data-step=unlocked] .drop-outs") == "—"
    assert tab.problems == []
