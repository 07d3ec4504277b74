"""GBFS 3.0 feeds, validated against the official schemas in ../shared/data."""

import json
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from tests.e2e.test_map import CITY_MAP
from tests.helpers import CITY, eventually

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "data" / "gbfs-json-schema" / "v3.0"
SLOW = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[121.47, 31.23], [121.471, 31.23], [121.471, 31.231], [121.47, 31.23]]],
    },
    "properties": {"kind": "slow", "name": "Market street", "max_speed_kph": 10},
}


def valid(name: str, document: dict) -> dict:
    path = SCHEMAS / f"{name}.json"
    if not path.exists():
        pytest.fail(f"the official GBFS schemas are missing: {SCHEMAS}")
    schema = json.loads(path.read_text())
    errors = sorted(
        Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER).iter_errors(
            document
        ),
        key=str,
    )
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return document


def feeds(system) -> dict[str, dict]:
    discovery = system.get(f"/gbfs/v3/{CITY}/gbfs.json").json()
    valid("gbfs", discovery)
    found = {}
    for entry in discovery["data"]["feeds"]:
        assert entry["url"].startswith(system.url), entry["url"]
        answer = system.http.get(entry["url"])
        assert answer.status_code == 200, entry
        found[entry["name"]] = valid(entry["name"], answer.json())
    return found


@pytest.fixture
def city(system):
    operator = system.operator()
    bikes = [system.bike() for _ in range(4)]
    zones = {**CITY_MAP, "features": [SLOW, *CITY_MAP["features"]]}
    assert system.put(f"/api/v1/ops/zones/{CITY}", zones, operator).ok
    ebike = {"rate_per_interval_minor": 300, "interval_seconds": 1800, "unlock_fee_minor": 100}
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/ebike", ebike, operator).ok
    system.cabinet("power_bank", {1: f"PB{uuid.uuid4().hex[:6].upper()}"})
    _, ebike_lock = system.bike("ebike")
    ebike_lock.logic.battery_pct = 80
    ebike_lock.report()

    def charge_recorded() -> bool:
        with system.platform.uow() as uow:
            return uow.locks.get(ebike_lock.lock_id).battery_pct == 80

    eventually(charge_recorded, what="the e-bike's charge")
    return operator, bikes


def public_ids(system) -> dict[str, dict]:
    status = system.get(f"/gbfs/v3/{CITY}/vehicle_status.json").json()
    return {vehicle["vehicle_id"]: vehicle for vehicle in status["data"]["vehicles"]}


def test_every_feed_is_valid_and_true_to_the_fleet(system, city):
    operator, [(riding, _), (reserved, _), (broken, _), _] = city
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, riding).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    body = {"code": reserved, "idempotency_key": uuid.uuid4().hex}
    assert system.post("/api/v1/reservations", body, system.rider()).status_code == 201
    system.patch(f"/api/v1/ops/assets/{broken}", {"in_service": False}, operator)

    found = feeds(system)

    vehicles = found["vehicle_status"]["data"]["vehicles"]
    bikes = [v for v in vehicles if v["vehicle_type_id"] == "bike"]
    assert len(bikes) == 3  # the one in a ride is not listed, nor the power bank
    assert sorted((v["is_reserved"], v["is_disabled"]) for v in bikes) == [
        (False, False),
        (False, True),
        (True, False),
    ]
    [ebike] = [v for v in vehicles if v["vehicle_type_id"] == "ebike"]
    assert (ebike["current_fuel_percent"], ebike["current_range_meters"]) == (0.8, 48000)
    zones = found["geofencing_zones"]["data"]
    assert zones["geofencing_zones"]["features"][0]["properties"]["rules"][0] == {
        "vehicle_type_ids": ["bike", "ebike"],
        "ride_start_allowed": True,
        "ride_end_allowed": True,
        "ride_through_allowed": True,
        "maximum_speed_kph": 10,
    }
    assert zones["global_rules"][0]["ride_end_allowed"] is False  # outside the service area
    plans = {plan["plan_id"]: plan for plan in found["system_pricing_plans"]["data"]["plans"]}
    assert plans["ebike"]["price"] == 1.0
    assert plans["ebike"]["per_min_pricing"] == [{"start": 0, "rate": 3.0, "interval": 30}]
    assert found["vehicle_status"]["ttl"] <= 300


def test_a_vehicle_gets_a_new_public_id_after_every_trip(system, city):
    _, [(code, lock), *_] = city
    before = set(public_ids(system))
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    assert len(public_ids(system)) == len(before) - 1  # in a ride: not listed
    lock.close()
    system.wait_state(rider, rental_id, "ended")

    after = set(public_ids(system))

    assert len(after) == len(before)
    assert len(after - before) == 1  # the bike is back under a name nobody saw before


def test_an_unchanged_feed_costs_a_304(system, city):
    first = system.get(f"/gbfs/v3/{CITY}/system_information.json")
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["Last-Modified"]
    again = system.http.get(first.url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.content


def test_the_manifest_lists_every_city_and_unknown_feeds_are_404(system, city):
    manifest = valid("manifest", system.get("/gbfs/v3/manifest.json").json())
    assert [d["system_id"] for d in manifest["data"]["datasets"]] == [f"dockless-{CITY}"]
    assert system.get(f"/gbfs/v3/{CITY}/station_status.json").status_code == 404
    assert system.get("/gbfs/v3/nowhere/gbfs.json").status_code == 404
