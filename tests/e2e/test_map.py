"""The map through HTTP, the broker and a virtual lock: zones, parking, nearby vehicles,
reservations and damage reports."""

import uuid

from tests.e2e.test_ride import ROUTE
from tests.helpers import CITY, eventually, make_city

HERE = "lon=121.47&lat=31.23"
AREA = [[121.46, 31.22], [121.48, 31.22], [121.48, 31.24], [121.46, 31.24], [121.46, 31.22]]
CITY_MAP = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [AREA]},
            "properties": {"kind": "service_area", "name": "Centre"},
        }
    ],
}


def nearby_codes(system, query=HERE):
    answer = system.get(f"/api/v1/vehicles/nearby?{query}")
    assert answer.status_code == 200, answer.text
    return [vehicle["code"] for vehicle in answer.json()["vehicles"]]


def test_operators_import_zones_and_everyone_can_read_them(system):
    make_city(system.platform)
    operator, rider = system.operator(), system.rider()
    imported = system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, operator)
    assert imported.json() == {"city_id": CITY, "zones": 1}
    assert system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, rider).status_code == 403
    public = system.get(f"/api/v1/cities/{CITY}/zones").json()
    assert public["features"][0]["properties"] == {"kind": "service_area", "name": "Centre"}
    assert system.get("/api/v1/cities/nowhere/zones").status_code == 404


def test_a_broken_zone_file_is_refused_with_the_reason(system):
    make_city(system.platform)
    operator = system.operator()
    bowtie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    for document, code in (
        ({"type": "Feature"}, "invalid_geojson"),
        (
            {**CITY_MAP, "features": [{**CITY_MAP["features"][0], "properties": {"kind": "x"}}]},
            "invalid_zone_kind",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": [bowtie]},
                        "properties": {"kind": "no_parking"},
                    }
                ],
            },
            "invalid_geometry",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {**CITY_MAP["features"][0], "properties": {"kind": "slow", "name": "s"}}
                ],
            },
            "invalid_speed_limit",
        ),
    ):
        answer = system.put(f"/api/v1/ops/zones/{CITY}", document, operator)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)
    assert system.get(f"/api/v1/ops/zones/{CITY}", operator).json()["features"] == []


def test_a_ride_ending_outside_the_service_area_shows_the_fee_on_the_receipt(system):
    make_city(system.platform)
    operator = system.operator()
    system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, operator)
    price = {"rate_per_interval_minor": 150, "interval_seconds": 1800, "out_of_zone_fee_minor": 500}
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", price, operator).ok
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"

    lock.ride([tuple(p) for p in ROUTE] + [(121.4803, 31.2385), (121.4806, 31.2388)], 0.05)
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")

    assert ended["parking"]["outcome"] == "outside_service_area"
    assert ended["parking"]["out_of_zone_fee"] == {"amount_minor": 500, "currency": "CNY"}
    assert ended["fare"]["amount_minor"] == 650
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    assert receipt["lines"][-1] == {
        "kind": "parking_fee",
        "label": "Parked outside the allowed area",
        "amount_minor": 500,
        "count": 1,
    }
    assert sum(line["amount_minor"] for line in receipt["lines"]) == receipt["total_minor"] == 650
    fleet = system.get(f"/api/v1/ops/assets?city_id={CITY}", operator).json()["assets"]
    assert next(a for a in fleet if a["code"] == code)["needs_retrieval"] is True


def test_a_reserved_bike_leaves_the_map_and_waits_for_its_rider(system):
    code, _ = system.bike()
    eventually(lambda: nearby_codes(system) == [code], what="the bike on the map")
    holder, other = system.rider(credit_minor=1000), system.rider(credit_minor=1000)
    key = uuid.uuid4().hex
    held = system.post("/api/v1/reservations", {"code": code, "idempotency_key": key}, holder)
    assert held.status_code == 201, held.text
    repeat = system.post("/api/v1/reservations", {"code": code, "idempotency_key": key}, holder)
    assert repeat.json()["id"] == held.json()["id"]
    assert system.get("/api/v1/reservations/current", holder).json()["id"] == held.json()["id"]
    assert system.get("/api/v1/reservations/current", other).status_code == 404
    assert system.get(f"/api/v1/reservations/{held.json()['id']}", other).status_code == 404

    assert nearby_codes(system) == []
    refused = system.scan(other, code)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "asset_reserved")
    rental_id = system.scan(holder, code).json()["id"]
    assert system.rental(holder, rental_id, wait=5)["state"] == "active"
    used = system.get(f"/api/v1/reservations/{held.json()['id']}", holder).json()
    assert (used["state"], used["rental_id"]) == ("used", rental_id)


def test_a_damage_report_hides_the_bike_until_an_operator_closes_it(system):
    code, _ = system.bike()
    eventually(lambda: nearby_codes(system) == [code], what="the bike on the map")
    rider, operator = system.rider(), system.operator()
    damage = {"code": code, "category": "brakes", "note": "weak"}
    # Only a rider who rode or tried to take the bike moments ago: this one held it.
    hold = system.post(
        "/api/v1/reservations", {"code": code, "idempotency_key": "hold-0001"}, rider
    )
    assert hold.status_code == 201, hold.text
    assert system.post(f"/api/v1/reservations/{hold.json()['id']}/cancel", None, rider).ok
    report = system.post("/api/v1/damage-reports", damage, rider)
    assert report.status_code == 201, report.text
    bad = system.post("/api/v1/damage-reports", {"code": code, "category": "wings"}, rider)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_category")
    assert nearby_codes(system) == []
    listed = system.get(f"/api/v1/ops/damage-reports?city_id={CITY}&state=open", operator).json()
    assert [r["asset_code"] for r in listed["reports"]] == [code]
    assert system.get("/api/v1/ops/damage-reports", rider).status_code == 403

    closed = system.post(
        f"/api/v1/ops/damage-reports/{report.json()['id']}/close",
        {"resolution": "brakes adjusted"},
        operator,
    )
    assert closed.json()["state"] == "closed"
    assert nearby_codes(system) == [code]


def test_operators_take_a_bike_out_of_service_and_back(system):
    code, _ = system.bike()
    operator = system.operator()
    out = system.patch(f"/api/v1/ops/assets/{code}", {"in_service": False}, operator)
    assert out.json() == {"code": code, "in_service": False}
    eventually(lambda: nearby_codes(system) == [], what="the bike off the map")
    fleet = system.get(f"/api/v1/ops/assets?city_id={CITY}", operator).json()["assets"]
    assert fleet[0]["unavailable"] == ["out_of_service"]
    assert (
        system.patch(f"/api/v1/ops/assets/{code}", {"in_service": "no"}, operator).status_code
        == 400
    )
    system.patch(f"/api/v1/ops/assets/{code}", {"in_service": True}, operator)
    assert nearby_codes(system) == [code]


def test_a_lock_reporting_a_low_battery_is_hidden_and_refuses_scans(system):
    code, lock = system.bike()
    lock.logic.battery_pct = 5
    lock.report()
    eventually(lambda: nearby_codes(system) == [], what="the bike off the map")
    refused = system.scan(system.rider(), code)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "battery_low")
    fleet = system.get(f"/api/v1/ops/assets?city_id={CITY}", system.operator()).json()["assets"]
    assert fleet[0]["unavailable"] == ["low_battery"]
    assert fleet[0]["lock"]["battery_pct"] == 5


def test_nearby_explains_a_bad_query(system):
    answer = system.get("/api/v1/vehicles/nearby?lon=121.47")
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_lat")
    assert answer.json()["error"]["field"] == "lat"
