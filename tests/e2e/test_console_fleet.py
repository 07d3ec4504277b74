"""The fleet page's filters (state, battery, zone, code) and why each vehicle cannot be
taken; CSV exports of rides, fleet and books, streamed, for operators only."""

import csv
import io
from collections import defaultdict
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from rental.adapters.tables import locks
from rental.domain.zones import zones_from_geojson
from rental.services import zones
from rental.services.commands.city import ImportZones
from tests.e2e.test_operator_console import open_console
from tests.helpers import CITY, make_city, make_user
from tests.integration.test_dashboard import ride
from tests.integration.test_rebalancing import square

SQUARE = (121.47, 31.23)  # where the test city's locks start: inside "Station square"
AWAY = (121.49, 31.25)


def a_small_fleet(system):
    """In Station square: one bike available, one offline; away from it, one low battery."""
    make_city(system.platform)
    document = {"type": "FeatureCollection", "features": [square(SQUARE, "Station square")]}
    zones.import_zones(system.platform.uow(), ImportZones(CITY, zones_from_geojson(document)))
    fine, _ = system.bike(at=SQUARE)
    offline, offline_lock = system.bike(at=SQUARE)
    flat, flat_lock = system.bike(at=AWAY)
    offline_lock.go_offline()
    system.wait_presence(offline_lock.lock_id, online=False)
    with system.platform.uow() as uow:
        uow.connection.execute(
            update(locks).where(locks.c.id == flat_lock.lock_id).values(battery_pct=9)
        )
        uow.commit()
    return fine, offline, flat


def rows(page):
    return page.locator("#main tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def test_an_operator_narrows_the_fleet_and_reads_why_vehicles_cannot_be_taken(system, tab):
    fine, offline, flat = a_small_fleet(system)
    page = open_console(system, tab, f"fleet?city={CITY}")
    expect(page.locator("#fleet-shown")).to_have_text("Showing 3 of 3.")

    page.select_option("#fleet-filters select[name=state]", "offline")
    assert rows(page) == [offline]
    assert page.inner_text(f"tr[data-code='{offline}'] .why") == "lock offline or silent"
    page.select_option("#fleet-filters select[name=state]", "")
    page.fill("#fleet-filters input[name=battery]", "10")
    assert rows(page) == [flat]
    assert page.inner_text(f"tr[data-code='{flat}'] .why") == "battery low"
    page.fill("#fleet-filters input[name=battery]", "")
    page.select_option("#fleet-filters select[name=zone]", label="Station square")
    assert sorted(rows(page)) == sorted([fine, offline])
    page.fill("#fleet-filters input[name=code]", fine[-4:].lower())
    assert rows(page) == [fine]
    expect(page.locator("#fleet-shown")).to_have_text("Showing 1 of 3.")
    assert page.locator(".leaflet-interactive.asset").count() == 1  # the map follows
    tab.screenshot("ops-fleet-filtered")

    with page.expect_download() as downloaded:
        page.click("#export-fleet")
    with open(downloaded.value.path(), encoding="utf-8", newline="") as file:
        exported = list(csv.DictReader(file))
    assert {row["code"]: row["unavailable"] for row in exported} == {
        fine: "",
        offline: "offline",
        flat: "low_battery",
    }
    page.select_option("#language", "zh-CN")
    expect(page.locator(f"tr[data-code='{offline}'] .why")).to_have_text("车锁离线或无响应")
    assert tab.problems == []


def test_rides_and_books_export_as_csv_for_operators_only(system):
    fine, _, _ = a_small_fleet(system)
    operator, rider = system.operator(), system.rider(credit_minor=500)
    with system.platform.uow() as uow:
        bike = uow.assets.by_code(fine)
    started = system.platform.now() - timedelta(hours=1)
    ride(system.platform, bike, make_user(system.platform), started, fare_minor=250)

    answer = system.get(f"/api/v1/ops/exports/rides.csv?city_id={CITY}", operator)
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="rides-{CITY}.csv"'
    [row] = csv.DictReader(io.StringIO(answer.text))
    assert (row["asset_code"], row["state"], row["fare_minor"], row["currency"]) == (
        fine,
        "ended",
        "250",
        "CNY",
    )

    books = list(
        csv.DictReader(io.StringIO(system.get("/api/v1/ops/exports/books.csv", operator).text))
    )
    by_transaction = defaultdict(int)
    for posting in books:
        by_transaction[posting["transaction_id"]] += int(posting["amount_minor"])
    assert len(by_transaction) >= 2 and set(by_transaction.values()) == {0}  # each balances
    assert any(
        p["account_kind"] == "platform_revenue" and p["amount_minor"] == "250" for p in books
    )

    for path in ("rides.csv?city_id=" + CITY, "fleet.csv?city_id=" + CITY, "books.csv"):
        assert system.get(f"/api/v1/ops/exports/{path}", rider).status_code == 403
    backwards = system.get(
        "/api/v1/ops/exports/books.csv?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z",
        operator,
    )
    assert (backwards.status_code, backwards.json()["error"]["code"]) == (400, "invalid_window")
    naive = system.get("/api/v1/ops/exports/books.csv?since=2026-11-02T00:00:00", operator)
    assert (naive.status_code, naive.json()["error"]["code"]) == (400, "invalid_time")
    unknown = system.get("/api/v1/ops/exports/fleet.csv?city_id=atlantis", operator)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "city_not_found")
