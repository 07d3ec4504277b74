"""The public GBFS feeds of a city, assembled by the use case from the fakes, in memory:
what each feed says, and what it leaves out."""

import json
from datetime import timedelta
from typing import Any

import pytest

from rental.api import gbfs_feeds, gbfs_json
from rental.domain import gbfs
from rental.domain.errors import NotFound
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.pricing import Tariff
from rental.domain.zones import Zone, ZoneKind
from rental.services import reservations
from rental.services.commands.rides import Reserve
from tests.unit.fakes.world import BIKE_PRICE, CITY, HOME, SERVICE_AREA, World, square

POLICY = ServicePolicy()
BASE_URL = "https://rental.example/"
CONTACT = "data@rental.example"


@pytest.fixture
def world() -> World:
    return World()


def read(world: World, name: str, city_id: str = CITY) -> dict[str, Any]:
    """The feed's data, as a consumer parses it."""
    feed = gbfs_feeds.feed(
        world.uow(), city_id, name, BASE_URL, world.now, POLICY, CONTACT, vehicle_status(world, 0)
    )
    document = json.loads(feed.text)
    assert (document["version"], document["ttl"]) == (gbfs_json.VERSION, feed.ttl)
    data: dict[str, Any] = document["data"]
    return data


def vehicle_status(world: World, ttl: int, copies: gbfs_feeds.FeedCopies | None = None):
    """Where vehicle_status comes from; a ttl of 0 renders on every request."""
    return gbfs_feeds.VehicleStatusSource(
        store=world.uow,
        clock=lambda: world.now,
        ttl_seconds=ttl,
        copies=copies or gbfs_feeds.FeedCopies(),
    )


def test_discovery_names_every_feed_of_the_city(world):
    feeds = read(world, "gbfs")["feeds"]
    assert [feed["name"] for feed in feeds] == list(gbfs_feeds.FEEDS)
    assert feeds[0]["url"] == f"https://rental.example/gbfs/v3/{CITY}/gbfs.json"


def test_an_unknown_feed_or_city_is_not_found(world):
    for city_id, name, code in (
        (CITY, "stations", "feed_not_found"),
        ("nowhere", "gbfs", "city_not_found"),
    ):
        with pytest.raises(NotFound) as missing:
            read(world, name, city_id)
        assert missing.value.code == code


def test_system_information_is_the_citys(world):
    info = read(world, "system_information")
    assert info["system_id"] == f"dockless-{CITY}"
    assert (info["name"], info["timezone"]) == (gbfs_json.text("Fake City"), "Asia/Shanghai")
    assert info["feed_contact_email"] == CONTACT
    assert read(world, "system_regions")["regions"] == [
        {"region_id": CITY, "name": gbfs_json.text("Fake City")}
    ]


def test_pricing_plans_are_the_current_ones_of_vehicles_only(world):
    dearer = Tariff("CNY", unlock_fee_minor=200, rate_per_interval_minor=300, interval_seconds=1800)
    world.publish("bike", dearer)
    world.publish("ebike", BIKE_PRICE)
    world.cabinet(AssetKind.UMBRELLA)  # priced, but no vehicle

    plans = read(world, "system_pricing_plans")["plans"]

    assert [(plan["plan_id"], plan["price"]) for plan in plans] == [("bike", 2.0), ("ebike", 1.0)]
    assert plans[0]["per_min_pricing"] == [{"start": 0, "rate": 3.0, "interval": 30}]


def test_geofencing_lists_restrictive_zones_first_and_forbids_parking_outside_the_area(world):
    slow = Zone(ZoneKind.SLOW, "market street", square(HOME, 0.001), max_speed_kph=10)
    no_ride = Zone(ZoneKind.NO_RIDE, "the bund", square((121.49, 31.24), 0.001))
    with world.uow() as unit:
        unit.zones.replace(CITY, [SERVICE_AREA, slow, no_ride])
        unit.commit()

    fencing = read(world, "geofencing_zones")

    features = fencing["geofencing_zones"]["features"]
    assert [f["properties"]["name"] for f in features] == [
        gbfs_json.text("the bund"),
        gbfs_json.text("market street"),
        gbfs_json.text("inner city"),
    ]
    [slow_rule] = features[1]["properties"]["rules"]
    assert slow_rule["maximum_speed_kph"] == 10 and slow_rule["vehicle_type_ids"] == [
        "bike",
        "ebike",
    ]
    assert features[1]["geometry"]["type"] == "MultiPolygon"
    assert fencing["global_rules"] == [
        {"vehicle_type_ids": ["bike", "ebike"], **gbfs_json.ride_rules(gbfs.OUTSIDE_SERVICE_AREA)}
    ]


def test_a_city_without_a_service_area_allows_riding_and_parking_anywhere(world):
    with world.uow() as unit:
        unit.zones.replace(CITY, [])
        unit.commit()
    fencing = read(world, "geofencing_zones")
    assert fencing["geofencing_zones"]["features"] == []
    assert fencing["global_rules"][0]["ride_end_allowed"] is True
    assert fencing["global_rules"] == [
        {"vehicle_type_ids": ["bike", "ebike"], **gbfs_json.ride_rules(gbfs.ANYWHERE)}
    ]


def test_vehicle_status_shows_parked_vehicles_as_riders_can_take_them(world):
    world.publish("ebike", BIKE_PRICE)
    ready = world.bike()
    reserved = world.bike(metres_east=10)
    low = world.bike(metres_east=20, battery=POLICY.low_battery_pct - 1)
    ebike = world.bike(kind=AssetKind.EBIKE, metres_east=30, battery=50)
    ridden = world.bike(metres_east=40)
    world.ride(world.rider(credit_minor=1000), ridden, world.now, 10)  # parked again
    world.item(world.cabinet(), 1)  # not a vehicle
    world.now += timedelta(minutes=11)
    hold = Reserve(world.rider().id, reserved.code, "hold-0001")
    reservations.reserve(world.uow(), hold, world.now, timedelta(minutes=15), POLICY)

    vehicles = read(world, "vehicle_status")["vehicles"]

    by_id = {vehicle["vehicle_id"]: vehicle for vehicle in vehicles}
    public = {
        asset.code: world.store.assets[asset.id].public_id
        for asset in (ready, reserved, low, ebike, ridden)
    }
    assert sorted(by_id) == sorted(public.values())  # and no umbrella
    assert by_id[public[ready.code]]["is_reserved"] is False
    assert by_id[public[ready.code]]["is_disabled"] is False
    assert by_id[public[reserved.code]]["is_reserved"] is True
    assert by_id[public[reserved.code]]["is_disabled"] is False
    assert by_id[public[low.code]]["is_disabled"] is True
    assert by_id[public[ebike.code]]["current_fuel_percent"] == 0.5
    assert by_id[public[ebike.code]]["current_range_meters"] == 0.5 * gbfs.EBIKE_RANGE_METERS
    assert "current_fuel_percent" not in by_id[public[ready.code]]
    assert (by_id[public[ready.code]]["lon"], by_id[public[ready.code]]["lat"]) == HOME


def test_a_vehicle_in_a_ride_is_left_out_and_comes_back_under_a_new_public_id(world):
    bike, rider = world.bike(), world.rider(credit_minor=1000)
    before = world.store.assets[bike.id].public_id
    world.scan(rider, world.bike(metres_east=10))
    assert [v["vehicle_id"] for v in read(world, "vehicle_status")["vehicles"]] == [before]
    world.ride(world.rider(credit_minor=1000), bike, world.now, minutes=10)
    after = world.store.assets[bike.id].public_id
    assert after != before
    assert [v["vehicle_id"] for v in read(world, "vehicle_status")["vehicles"]] == [after]


def test_the_manifest_lists_every_city(world):
    world.add_city("anothercity")
    manifest = json.loads(gbfs_feeds.manifest(world.uow(), BASE_URL, world.now).text)
    datasets = manifest["data"]["datasets"]
    assert [d["system_id"] for d in datasets] == ["dockless-anothercity", f"dockless-{CITY}"]
    assert datasets[1]["versions"] == [
        {"version": gbfs_json.VERSION, "url": f"https://rental.example/gbfs/v3/{CITY}/gbfs.json"}
    ]


def test_a_stored_vehicle_status_counts_its_ttl_down_and_serves_one_render(world):
    """Two processes (each its copies) serve one render; its ttl is what is left of it."""
    bike = world.bike()
    processes = [vehicle_status(world, 10), vehicle_status(world, 10)]
    first = gbfs_feeds.vehicle_status(processes[0], CITY, POLICY)
    world.now += timedelta(seconds=4)
    world.ride(world.rider(credit_minor=1000), bike, world.now, 1)  # a new public id

    later = gbfs_feeds.vehicle_status(processes[1], CITY, POLICY)

    assert (first.ttl, later.ttl) == (10, 6)
    assert (later.text, later.etag, later.last_updated) == (
        first.text,
        first.etag,
        first.last_updated,
    )
    assert json.loads(later.text)["ttl"] == 10  # as rendered: last_updated + ttl is honest
    world.now += timedelta(seconds=6)
    renewed = gbfs_feeds.vehicle_status(processes[0], CITY, POLICY)
    assert renewed.last_updated == first.last_updated + timedelta(seconds=10)
    assert renewed.text != first.text and renewed.ttl == 10
