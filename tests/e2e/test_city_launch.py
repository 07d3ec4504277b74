"""A second city, launched through the API only: Berlin, in euros, on Europe/Berlin time.
Its zones, prices, trucks, a lock and a bike; a rider tops up in euros and rides; its GBFS
and MDS feeds are valid and speak of euros and Berlin; its nightly plan is made at the
right local hour across both changes of daylight saving time (the clock injected)."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rental.bootstrap import utc_now
from rental.domain.rebalancing import RunTrigger
from rental.services import rebalancing_requests, rebalancing_runs
from tests.e2e.test_gbfs import valid
from tests.e2e.test_mds import Agency
from tests.mds_schemas import assert_valid_response

BERLIN = ZoneInfo("Europe/Berlin")
CENTER = (13.405, 52.52)
ALEXANDERPLATZ = (13.4132, 52.5219)
ROUTE = [CENTER, (13.408, 52.521), (13.411, 52.5215), ALEXANDERPLATZ]


@pytest.fixture
def later(system, monkeypatch):
    """Move the platform's clock on, so that the hours just lived are over."""

    def move(by: timedelta) -> None:
        monkeypatch.setattr(system.platform, "now", lambda: utc_now() + by)

    return move


def square(center: tuple[float, float], half: float) -> list[list[list[float]]]:
    lon, lat = center
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half]]
    return [[*ring, [lon - half, lat + half], [lon - half, lat - half]]]


def zone(kind: str, name: str, center: tuple[float, float], half: float) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": square(center, half)},
        "properties": {"kind": kind, "name": name},
    }


def launch_berlin(system, operator) -> None:
    """Everything a city needs, as an operator sends it."""
    city = {
        "id": "berlin",
        "name": "Berlin",
        "time_zone": "Europe/Berlin",
        "currency": "EUR",
        "locale": "de-DE",
        "center": {"lon": CENTER[0], "lat": CENTER[1]},
    }
    launched = system.post("/api/v1/ops/cities", city, operator)
    assert launched.status_code == 201, launched.text
    zones = {
        "type": "FeatureCollection",
        "features": [
            zone("service_area", "Innenstadt", CENTER, 0.05),
            zone("parking", "Alexanderplatz", ALEXANDERPLATZ, 0.002),
        ],
    }
    imported = system.put("/api/v1/ops/zones/berlin", zones, operator)
    assert imported.status_code == 200, imported.text
    # 1.00 EUR to unlock, 0.25 EUR a minute.
    prices = {"unlock_fee_minor": 100, "rate_per_interval_minor": 25, "interval_seconds": 60}
    priced = system.put("/api/v1/ops/pricing-plans/berlin/bike", prices, operator)
    assert priced.status_code == 201, priced.text
    fleet = {
        "depot": {"lon": 13.39, "lat": 52.51},
        "trucks": [{"capacity": 20, "shift_hours": 6}],
        "speed_kph": 25,
        "nightly_hour": 2,  # does not exist on 28 March 2027 in Berlin
        "time_limit_seconds": 2,
    }
    assert system.put("/api/v1/ops/rebalancing/fleets/berlin", fleet, operator).ok


def test_a_city_launched_through_the_api_rides_and_publishes_in_its_money_and_time(system, later):
    operator = system.operator()
    launch_berlin(system, operator)
    code, lock = system.bike(city="berlin", at=CENTER)
    rider = system.rider(credit_minor=0)
    order = system.post(
        "/api/v1/wallet/top-ups",
        {"amount_minor": 1000, "currency": "EUR", "idempotency_key": uuid.uuid4().hex},
        rider,
    ).json()
    system.pay(order)
    system.wait_order(rider, order["id"], "paid")

    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.ride(ROUTE, interval_s=0.05)
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")

    assert ended["fare"] == {"amount_minor": 125, "currency": "EUR"}  # 1.00 + one minute
    assert ended["parking"]["outcome"] == "ok"
    assert ended["time_zone"] == "Europe/Berlin"
    wallet = system.get("/api/v1/wallet", rider).json()["wallets"]
    assert [(w["currency"], w["balance_minor"]) for w in wallet] == [("EUR", 875)]
    receipt = system.get(f"/api/v1/rentals/{rental_id}/receipt", rider).json()
    assert (receipt["currency"], receipt["time_zone"]) == ("EUR", "Europe/Berlin")
    page = system.get(f"/api/v1/rentals/{rental_id}/receipt.html", rider).text
    local_end = datetime.fromisoformat(ended["ended_at"]).astimezone(BERLIN)
    assert local_end.strftime("%Y-%m-%d %H:%M %Z") in page and "1.25 EUR" in page

    # GBFS: Berlin is listed, and every one of its feeds is valid and Berlin's own.
    manifest = valid("manifest", system.get("/gbfs/v3/manifest.json").json())
    assert "dockless-berlin" in [d["system_id"] for d in manifest["data"]["datasets"]]
    discovery = valid("gbfs", system.get("/gbfs/v3/berlin/gbfs.json").json())
    feeds = {
        entry["name"]: valid(entry["name"], system.http.get(entry["url"]).json())
        for entry in discovery["data"]["feeds"]
    }
    information = feeds["system_information"]["data"]
    assert information["timezone"] == "Europe/Berlin"
    assert information["languages"][0] == "de-DE"
    assert information["name"] == [{"text": "Berlin", "language": "de-DE"}]
    [plan] = feeds["system_pricing_plans"]["data"]["plans"]
    assert (plan["currency"], plan["price"]) == ("EUR", 1.0)
    assert [v["lon"] for v in feeds["vehicle_status"]["data"]["vehicles"]] == [ALEXANDERPLATZ[0]]

    # MDS: the city's regulator reads the trip, in euros.
    client = system.post(
        "/api/v1/ops/mds-clients", {"city_id": "berlin", "name": "SenUMVK"}, operator
    )
    agency = Agency(system, client.json()["token"])
    later(timedelta(hours=2))
    hour = datetime.fromisoformat(ended["ended_at"]).astimezone(UTC).strftime("%Y-%m-%dT%H")
    trips = agency.read("/trips", end_time=hour)["trips"]
    assert [(t["actual_cost"], t["currency"]) for t in trips] == [(125, "EUR")]
    vehicles = agency.read("/vehicles")
    assert len(vehicles["vehicles"]) == 1
    assert_valid_response("/vehicles", vehicles)


def test_a_launched_citys_nightly_plan_comes_at_its_local_hour_across_both_dst_changes(
    system, monkeypatch
):
    operator = system.operator()
    launch_berlin(system, operator)
    system.bike(city="berlin", at=ALEXANDERPLATZ)
    planner = rebalancing_runs.Planner(
        system.platform.config.service_policy(), system.platform.routing
    )

    def nightly_runs(start: datetime, end: datetime) -> list[datetime]:
        """The schedule looking at an injected clock every 10 minutes, and a planning worker
        making what it queued: each nightly plan's start."""
        moment, made = start, {}
        while moment < end:
            # The live system's planning worker may take the plan: it reads the same clock.
            monkeypatch.setattr(system.platform, "now", lambda m=moment: m)
            rebalancing_requests.request_due_cities(system.platform.uow, moment)
            rebalancing_requests.make_queued_plans(system.platform.uow, lambda m=moment: m, planner)
            with system.platform.uow() as uow:
                plan = uow.rebalancing.latest_plan("berlin", RunTrigger.NIGHTLY)
            if plan is not None and start <= plan.started_at < end:
                made[plan.id] = plan.started_at.astimezone(BERLIN)
            moment += timedelta(minutes=10)
        return sorted(made.values())

    # Spring forward, 28 March 2027: 02:00 does not exist; the run comes at 03:00 CEST.
    spring = nightly_runs(
        datetime(2027, 3, 27, 23, 0, tzinfo=UTC), datetime(2027, 3, 28, 4, 0, tzinfo=UTC)
    )
    assert [(t.hour, t.minute, t.tzname()) for t in spring] == [(3, 0, "CEST")]
    # Fall back, 31 October 2027: 02:00 comes twice; the run comes once, at the first.
    fall = nightly_runs(
        datetime(2027, 10, 30, 22, 0, tzinfo=UTC), datetime(2027, 10, 31, 4, 0, tzinfo=UTC)
    )
    assert [(t.hour, t.minute, t.tzname()) for t in fall] == [(2, 0, "CEST")]
    # An ordinary winter night: 02:00 CET, which is 01:00 UTC.
    winter = nightly_runs(
        datetime(2027, 12, 1, 0, 0, tzinfo=UTC), datetime(2027, 12, 1, 3, 0, tzinfo=UTC)
    )
    assert [(t.hour, t.tzname(), t.astimezone(UTC).hour) for t in winter] == [(2, "CET", 1)]
