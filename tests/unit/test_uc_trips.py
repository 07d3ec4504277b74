"""The end of a ride in memory (`rental.services.trips.end_trip`): the trace from the
lock's good fixes, where it was parked and what that costs, speeding, the vehicle's
history and its new public id."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from rental.domain.rentals import RentalState
from rental.domain.zones import Parking, Zone, ZoneKind
from rental.services.trips import end_trip
from tests.unit.world import (
    BIKE_PRICE,
    CITY,
    HOME,
    OPENED,
    OUTSIDE,
    UNLOCK_BOOT,
    World,
    closed,
    telemetry,
)

PATH = [(121.470, 31.230), (121.475, 31.232), (121.480, 31.234)]


@pytest.fixture
def world() -> World:
    return World(bike_price=replace(BIKE_PRICE, out_of_zone_fee_minor=500))


def minutes(n: float):
    return OPENED + timedelta(minutes=n)


def square_around(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def test_the_trace_is_built_from_the_fixes_in_the_locks_time_order(world):
    _, rental = world.riding()
    # Delivered out of order and one twice (QoS 0 over a shaky network).
    for seq in (13, 11, 12, 12):
        at = minutes(2 * (seq - 10))
        where = PATH[seq - 11]
        world.report(telemetry(rental.lock_id, UNLOCK_BOOT, seq, at, locked=False, where=where))
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 14, minutes(8), where=PATH[-1]))
    ended = world.rental(rental)
    assert world.store.rentals[rental.id].trace == PATH
    assert world.store.rentals[rental.id].end_position == PATH[-1]
    assert ended.distance_m == pytest.approx(1050, abs=5)  # two legs of 525 m
    with world.uow() as unit:
        geometry = unit.rentals.trace_geojson(rental.id)
    assert '"coordinates":[[121.47,31.23],[121.475,31.232],[121.48,31.234]]' in geometry


def test_the_close_position_ends_the_trace_when_the_bike_moved_on_after_the_last_fix(world):
    _, rental = world.riding()
    world.report(
        telemetry(rental.lock_id, UNLOCK_BOOT, 11, minutes(2), locked=False, where=PATH[0])
    )
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 12, minutes(4), where=PATH[1]))
    assert world.store.rentals[rental.id].trace == PATH[:2]


def test_fixes_from_before_the_ride_are_not_in_its_trace(world):
    _, rental = world.riding()
    parked_before = telemetry(
        rental.lock_id, UNLOCK_BOOT, 3, OPENED - timedelta(hours=1), locked=True, where=OUTSIDE
    )
    world.report(parked_before)
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 11, minutes(5), where=HOME))
    ended = world.rental(rental)
    assert world.store.rentals[rental.id].trace is None  # the close alone is no line
    assert ended.distance_m == 0.0


def test_a_ride_ending_outside_the_service_area_pays_the_fee_and_is_fetched(world):
    rider, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 11, minutes(10), where=OUTSIDE))
    ended = world.rental(rental)
    assert ended.parking is Parking.OUTSIDE_SERVICE_AREA
    assert (ended.out_of_zone_fee_minor, ended.fare_minor) == (500, 150 + 500)
    assert [line.kind for line in ended.receipt_lines()] == ["riding", "parking_fee"]
    assert world.needs_retrieval(world.asset_by_code("BK-L-ride"))
    assert world.wallet(rider) == 1000 - 650
    assert world.credit_reasons(rider) == ["parking_violation"]


def test_a_ride_ending_in_a_no_parking_zone_pays_the_fee(world):
    with world.uow() as unit:
        zones = [
            Zone(ZoneKind.SERVICE_AREA, "inner city", square_around(*HOME, 0.05)),
            Zone(ZoneKind.NO_PARKING, "square", square_around(*HOME, 0.001)),
        ]
        unit.zones.replace(CITY, zones)
        unit.commit()
    _, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 11, minutes(10), where=HOME))
    ended = world.rental(rental)
    assert (ended.parking, ended.out_of_zone_fee_minor) == (Parking.NO_PARKING_ZONE, 500)


def test_a_doubtful_end_position_never_costs_a_fee(world):
    rider, rental = world.riding()
    away = (OUTSIDE[0], OUTSIDE[1])
    world.report(
        telemetry(
            rental.lock_id, UNLOCK_BOOT, 11, minutes(2), locked=False, where=away, accuracy_m=8.0
        )
    )
    vague = telemetry(
        rental.lock_id, UNLOCK_BOOT, 12, minutes(4), locked=True, where=away, accuracy_m=400.0
    )
    world.report(vague)
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.parking is Parking.OUTSIDE_SERVICE_AREA
    assert ended.position_doubt is not None and "400 m" in ended.position_doubt
    assert (ended.out_of_zone_fee_minor, ended.fare_minor) == (0, 150)
    assert world.needs_retrieval(world.asset_by_code("BK-L-ride"))  # staff will check
    assert world.credit_reasons(rider) == ["clean_ride"]


def test_speeding_in_a_slow_zone_is_recorded_with_the_ride(world):
    with world.uow() as unit:
        zones = [Zone(ZoneKind.SLOW, "campus", square_around(*HOME, 0.05), max_speed_kph=10.0)]
        unit.zones.replace(CITY, zones)
        unit.commit()
    _, rental = world.riding()
    for n in (1, 2):  # about 95 m in 20 s: 17 km/h
        where = (HOME[0] + 0.001 * n, HOME[1])
        at = OPENED + timedelta(seconds=20 * n)
        world.report(telemetry(rental.lock_id, UNLOCK_BOOT, 10 + n, at, locked=False, where=where))
    world.report(
        closed(rental.lock_id, UNLOCK_BOOT, 13, minutes(1), where=(HOME[0] + 0.002, HOME[1]))
    )
    [speeding] = world.store.speeding_events
    assert (speeding.rental_id, speeding.zone_name, speeding.max_speed_kph) == (
        rental.id,
        "campus",
        10.0,
    )
    assert speeding.speed_kph == pytest.approx(17.1, abs=0.2)


def test_the_trip_end_is_kept_where_it_ended_and_the_vehicle_gets_a_new_public_id(world):
    _, rental = world.riding()
    public_id = world.store.assets[rental.asset_id].public_id
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 11, minutes(6), where=PATH[0]))
    end = world.store.vehicle_events[-1]
    assert (end.kind, end.at, end.rental_id, (end.lon, end.lat)) == (
        "trip_end",
        minutes(6),
        rental.id,
        PATH[0],
    )
    assert world.store.assets[rental.asset_id].public_id != public_id


def test_a_ride_never_ends_before_it_started(world):
    _, rental = world.riding()
    with world.uow() as unit:
        riding = unit.rentals.get(rental.id)
        assert riding is not None
        end_trip(unit, riding, OPENED - timedelta(minutes=1), None, 0)
        unit.commit()
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.ended_at == ended.started_at == OPENED
