"""Riders look for the nearest vehicles they can take now, in memory."""

from datetime import timedelta

import pytest

from rental.domain.fleet import AssetKind, ServicePolicy
from rental.services import vehicles
from rental.services.commands.assets import SearchNearby
from rental.services.read_models import NearbyVehicle
from tests.unit.fakes.world import BIKE_PRICE, CITY, HOME, World

POLICY = ServicePolicy()


@pytest.fixture
def world() -> World:
    return World()


def search(
    world: World, kinds: list[AssetKind] | None = None, limit: int = 10
) -> list[NearbyVehicle]:
    command = SearchNearby(*HOME, radius_m=500, kinds=kinds, limit=limit)
    return vehicles.nearby(world.uow(), command, world.now, POLICY)


def test_nearby_lists_vehicles_nearest_first_with_distance_and_price(world):
    far, near, middle = (
        world.bike(metres_east=300),
        world.bike(metres_east=20),
        world.bike(metres_east=150),
    )
    world.bike(metres_east=900)  # outside the radius

    found = search(world)

    assert [v.code for v in found] == [near.code, middle.code, far.code]
    assert found[0].distance_m == pytest.approx(20, abs=1)
    assert (found[0].kind, found[0].city_id, found[0].battery_pct) == (AssetKind.BIKE, CITY, 80)
    assert found[0].pricing_plan is not None and found[0].pricing_plan.tariff == BIKE_PRICE
    assert (found[0].lon, found[0].lat) == pytest.approx((HOME[0] + 20 / 95_300, HOME[1]))


def test_nearby_keeps_to_the_kinds_asked_for_and_the_limit(world):
    world.publish("ebike", BIKE_PRICE)
    bike = world.bike(metres_east=10)
    ebike = world.bike(kind=AssetKind.EBIKE, metres_east=20)
    world.bike(metres_east=30)
    assert [v.code for v in search(world, kinds=[AssetKind.EBIKE])] == [ebike.code]
    assert [v.code for v in search(world, kinds=[AssetKind.POWER_BANK])] == []
    assert [v.code for v in search(world, limit=2)] == [bike.code, ebike.code]
    both = search(world, kinds=[AssetKind.BIKE, AssetKind.EBIKE])
    assert len(both) == 3


def test_nearby_hides_what_riders_cannot_take(world):
    visible = world.bike(metres_east=10)
    world.bike(metres_east=20, battery=POLICY.low_battery_pct - 1)
    world.bike(metres_east=30, seen=world.now - POLICY.silence - timedelta(seconds=1))
    world.bike(metres_east=40, online=False)
    world.bike(metres_east=50, locked=False)
    world.scan(world.rider(credit_minor=1000), world.bike(metres_east=60))
    world.bike(metres_east=70, located=False)
    assert [v.code for v in search(world)] == [visible.code]


def test_a_vehicle_without_a_price_is_found_without_one(world):
    unpriced = world.bike(kind=AssetKind.EBIKE)
    [found] = search(world)
    assert (found.code, found.pricing_plan) == (unpriced.code, None)
