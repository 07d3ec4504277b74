"""The nightly rebalancing end to end: a seeded city, a plan made through the API, driven
by the simulator's truck crews, and the bikes where the plan said."""

import uuid
from zoneinfo import ZoneInfo

from shapely.geometry import Point, shape

from rebalancing.demand import coming_morning
from rental.bootstrap import utc_now
from simulator.trucks import TruckCrews
from tests.helpers import CITY, eventually, make_city
from tests.integration.test_rebalancing import OFFICE, STATION, past_mornings, square

FLEET = {
    "depot": {"lon": 121.475, "lat": 31.230},
    "trucks": [{"capacity": 6, "shift_hours": 6}, {"capacity": 6, "shift_hours": 6}],
    "speed_kph": 25,
    "nightly_hour": 1,
    "time_limit_seconds": 2,
}
ZONES = {
    "type": "FeatureCollection",
    "features": [square(OFFICE, "Office"), square(STATION, "Station")],
}


def test_a_plan_made_through_the_api_and_driven_puts_the_bikes_where_it_said(system):
    make_city(system.platform)
    operator = system.operator()
    assert system.put(f"/api/v1/ops/zones/{CITY}", ZONES, operator).ok
    answer = system.put(f"/api/v1/ops/rebalancing/fleets/{CITY}", FLEET, operator)
    assert answer.status_code == 200, answer.text
    bikes = [system.bike() for _ in range(6)]
    for _, lock in bikes:
        lock.ride([STATION], 0)
        lock.wait_for_ride()
    with system.platform.uow() as uow:
        asset = uow.assets.by_code(bikes[0][0])
    morning = coming_morning(utc_now(), ZoneInfo("Asia/Shanghai"))
    past_mornings(system.platform, asset, OFFICE, 4, morning)  # the office needs 5

    def parked_at_station() -> bool:
        listed = system.get(f"/api/v1/ops/assets?city_id={CITY}", operator).json()["assets"]
        return all(a["lock"]["position"] == {"lon": STATION[0], "lat": STATION[1]} for a in listed)

    eventually(parked_at_station, what="the bikes reported at the station")

    started = system.post("/api/v1/ops/rebalancing/plans", {"city_id": CITY}, operator)
    assert started.status_code == 202 and started.json()["state"] == "queued", started.text
    again = system.post("/api/v1/ops/rebalancing/plans", {"city_id": CITY}, operator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "rebalancing_running"
    plan = {}

    def ready() -> bool:
        plan.update(
            system.get(f"/api/v1/ops/rebalancing/plans/{started.json()['id']}", operator).json()
        )
        return plan["state"] not in ("queued", "running")

    eventually(ready, timeout=30, what="the plan")
    assert plan["state"] == "ready", plan["error"]
    drops = [
        stop for truck in plan["trucks"] for stop in truck["stops"] if stop["action"] == "drop_off"
    ]
    assert sum(-stop["bikes"] for stop in drops) == 5, plan["trucks"]
    features = plan["geojson"]["features"]
    assert {f["properties"]["kind"] for f in features} == {"hotspot", "depot", "route", "stop"}

    picks = sum(
        stop["bikes"] for truck in plan["trucks"] for stop in truck["stops"] if stop["bikes"] > 0
    )
    crews = TruckCrews({lock.lock_id: lock for _, lock in bikes}, system.url, operator.token)

    result = crews.drive(plan["id"])

    # Every planned bike moved: picked up (one more than the office needs goes to the
    # depot, which absorbs surpluses), and five put down.
    assert picks == 6 and result == {"bikes_moved": picks + 5, "bikes_not_moved": 0}
    office = shape(square(OFFICE, "Office")["geometry"])

    def at_the_office() -> list[str]:
        listed = system.get(f"/api/v1/ops/assets?city_id={CITY}", operator).json()["assets"]
        return [
            a["code"]
            for a in listed
            if a["in_service"]
            and office.covers(Point(a["lock"]["position"]["lon"], a["lock"]["position"]["lat"]))
        ]

    eventually(lambda: len(at_the_office()) == 5, what="five bikes at the office")
    latest = system.get(f"/api/v1/ops/rebalancing/plans/latest?city_id={CITY}", operator).json()
    assert latest["id"] == plan["id"]
    assert all(stop["done_at"] for truck in latest["trucks"] for stop in truck["stops"])


def test_bad_requests_get_clear_answers(system):
    make_city(system.platform)
    operator, rider = system.operator(), system.rider()
    no_fleet = system.post("/api/v1/ops/rebalancing/plans", {"city_id": CITY}, operator)
    assert (
        no_fleet.status_code == 404 and no_fleet.json()["error"]["code"] == "fleet_not_configured"
    )
    broken = {**FLEET, "trucks": [{"capacity": 0, "shift_hours": 6}]}
    answer = system.put(f"/api/v1/ops/rebalancing/fleets/{CITY}", broken, operator)
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "invalid_fleet",
        "message": "capacity is a number from 1 to 200",
        "field": "trucks.0.capacity",
    }
    assert system.put(f"/api/v1/ops/rebalancing/fleets/{CITY}", FLEET, rider).status_code == 403
    assert system.put("/api/v1/ops/rebalancing/fleets/nowhere", FLEET, operator).status_code == 404
    latest = system.get(f"/api/v1/ops/rebalancing/plans/latest?city_id={CITY}", operator)
    assert latest.status_code == 404 and latest.json()["error"]["code"] == "plan_not_found"
    assert (
        system.post(
            "/api/v1/ops/rebalancing/plans", {"city_id": CITY, "time_limit_seconds": 0}, operator
        ).status_code
        == 400
    )
    for wrong, code in (
        ({"seed": "7"}, "invalid_seed"),
        ({"seed": 7, "solutions": 0}, "invalid_solutions"),
    ):
        answer = system.post("/api/v1/ops/rebalancing/plans", {"city_id": CITY, **wrong}, operator)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    done = system.post(
        f"/api/v1/ops/rebalancing/plans/{uuid.uuid4()}/trucks/1/stops/1/done", None, operator
    )
    assert done.status_code == 404
    for truck, seq in ((2**31, 1), (1, 10**30)):  # no truck or stop is numbered that high
        beyond = f"/api/v1/ops/rebalancing/plans/{uuid.uuid4()}/trucks/{truck}/stops/{seq}/done"
        answer = system.post(beyond, None, operator)
        assert answer.status_code == 400 and answer.json()["error"]["code"] in (
            "invalid_truck",
            "invalid_seq",
        )
