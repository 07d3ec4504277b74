"""A city's map of zones, in memory: imported whole, read back as the import reads it, the
verdict on where each trip ended, and the fixes that broke a zone's speed limit."""

from datetime import timedelta

import pytest
from shapely.geometry import MultiPolygon, shape

from rental.domain.errors import NotFound
from rental.domain.zones import Parking, Zone, ZoneKind, zones_from_geojson
from rental.services import zones
from rental.services.commands.city import FindSpeeding, ImportZones
from tests.unit.fakes.world import BIKE_PRICE, CITY, HOME, SERVICE_AREA, World, square

EAST = 0.002  # degrees of longitude: some 190 m at Shanghai
# Around the first stretch east of HOME; a bike crossing it in a minute goes 11 km/h.
MARKET = Zone(ZoneKind.SLOW, "market street", square((HOME[0] + EAST, HOME[1]), 0.0005), 10.0)
BUND = Zone(ZoneKind.NO_RIDE, "the bund", square((HOME[0] + 2 * EAST, HOME[1]), 0.0005))
STATION = Zone(ZoneKind.NO_PARKING, "station square", square((HOME[0] + 3 * EAST, HOME[1]), 0.0005))
EASTWARDS = [(HOME[0] + step * EAST, HOME[1]) for step in range(4)]


@pytest.fixture
def world() -> World:
    return World()


def import_map(world: World, *new_zones: Zone, city_id: str = CITY) -> int:
    return zones.import_zones(world.uow(), ImportZones(city_id, list(new_zones)))


def test_an_import_replaces_the_whole_map_and_reads_back_as_it_was_imported(world):
    assert import_map(world, SERVICE_AREA, MARKET, BUND) == 3
    assert import_map(world, SERVICE_AREA, MARKET) == 2

    document = zones.zones_of(world.uow(), CITY)

    read_back = zones_from_geojson(document)
    assert [(z.kind, z.name, z.max_speed_kph) for z in read_back] == [
        (ZoneKind.SERVICE_AREA, "inner city", None),
        (ZoneKind.SLOW, "market street", 10.0),
    ]
    assert all(feature["id"] for feature in document["features"])
    stored = shape(document["features"][1]["geometry"])  # kept as a MultiPolygon
    assert stored.equals_exact(MultiPolygon([shape(MARKET.geometry)]), tolerance=1e-9)


def test_zones_belong_to_a_city_that_exists(world):
    for call in (
        lambda: import_map(world, MARKET, city_id="nowhere"),
        lambda: zones.zones_of(world.uow(), "nowhere"),
        lambda: zones.speeding_in(world.uow(), FindSpeeding("nowhere", world.now)),
    ):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "city_not_found"
    assert len(world.store.zones) == 1  # the fake city's service area, untouched


def test_a_trip_ended_in_an_allowed_place_is_parked_ok(world):
    rider = world.rider(credit_minor=1000)
    ride = world.ride(rider, world.bike(), world.now, minutes=10)
    assert (ride.parking, ride.fare_minor, ride.out_of_zone_fee_minor) == (Parking.OK, 250, 0)
    assert not world.store.assets[ride.asset_id].needs_retrieval
    assert world.score(rider) == 600 + 2


@pytest.mark.parametrize(
    ("end", "parking"),
    [
        ((HOME[0] + 3 * EAST, HOME[1]), Parking.NO_PARKING_ZONE),
        ((HOME[0] + 0.065, HOME[1]), Parking.OUTSIDE_SERVICE_AREA),
    ],
    ids=["in a no-parking zone", "outside the service area"],
)
def test_a_trip_ended_where_parking_is_not_allowed_pays_the_fee_and_is_fetched(world, end, parking):
    import_map(world, SERVICE_AREA, STATION)
    rider = world.rider(credit_minor=1000)
    path = [HOME, ((HOME[0] + end[0]) / 2, HOME[1]), end]
    ride = world.ride(rider, world.bike(), world.now, minutes=20, path=path)
    assert ride.parking is parking
    assert ride.out_of_zone_fee_minor == BIKE_PRICE.out_of_zone_fee_minor
    assert ride.fare_minor == 250 + BIKE_PRICE.out_of_zone_fee_minor
    assert world.balance(rider) == 1000 - 750
    assert world.store.assets[ride.asset_id].needs_retrieval
    assert world.score(rider) == 600 - 10  # a parking violation, and no clean ride


def test_a_city_without_a_service_area_lets_trips_end_anywhere(world):
    import_map(world)  # an empty map
    far = (HOME[0] + 0.065, HOME[1])
    path = [HOME, ((HOME[0] + far[0]) / 2, HOME[1]), far]
    ride = world.ride(world.rider(credit_minor=1000), world.bike(), world.now, 20, path)
    assert (ride.parking, ride.out_of_zone_fee_minor) == (Parking.OK, 0)


def test_fixes_faster_than_a_slow_zone_allows_or_in_a_no_ride_zone_are_kept(world):
    import_map(world, SERVICE_AREA, MARKET, BUND)
    bike = world.bike()
    ride = world.ride(world.rider(credit_minor=1000), bike, world.now, minutes=3, path=EASTWARDS)

    found = zones.speeding_in(world.uow(), FindSpeeding(CITY, world.now))

    # Newest first: in the bund at 2 minutes (any speed), in the market at 1 minute.
    assert [(s.zone_name, s.max_speed_kph, s.recorded_at) for s in found] == [
        ("the bund", 0.0, world.now + timedelta(minutes=2)),
        ("market street", 10.0, world.now + timedelta(minutes=1)),
    ]
    assert {(s.rental_id, s.asset_code) for s in found} == {(ride.id, bike.code)}
    assert found[1].speed_kph == pytest.approx(11.4, abs=0.1)
    assert (found[1].lon, found[1].lat) == pytest.approx(EASTWARDS[1])
    later = zones.speeding_in(world.uow(), FindSpeeding(CITY, world.now + timedelta(minutes=2)))
    assert [s.zone_name for s in later] == ["the bund"]


def test_riding_within_the_limit_is_not_speeding(world):
    import_map(world, SERVICE_AREA, MARKET)
    world.ride(world.rider(credit_minor=1000), world.bike(), world.now, 6, EASTWARDS[:3])
    # 190 m in three minutes: under 4 km/h.
    assert zones.speeding_in(world.uow(), FindSpeeding(CITY, world.now)) == []
