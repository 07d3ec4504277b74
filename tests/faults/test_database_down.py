"""PostgreSQL stops while a rider closes the lock; the trip still ends at the close."""

import time

from tests.faults.invariants import assert_ends_at, assert_invariants

OUTAGE_S = 20


def test_a_trip_closed_while_the_database_is_down_ends_at_the_close(system, scene):
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike)

    system.services.stop_postgres()
    time.sleep(OUTAGE_S / 4)
    world.close(bike)
    time.sleep(OUTAGE_S * 3 / 4)
    system.services.start_postgres()

    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    assert_ends_at(system.wait_rental(rental_id, "ended", timeout=30), closed)
    assert_invariants(world.check())
