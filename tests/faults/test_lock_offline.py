"""A rider closes the lock while it has no network; it tells the platform when back."""

import time

from tests.faults.invariants import assert_ends_at, assert_invariants

OFFLINE_S = 6


def test_a_lock_closed_offline_ends_the_trip_at_the_close_not_at_the_reconnect(system, scene):
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike, legs=4)
    time.sleep(1.5)

    world.sim.offline(bike.lock_id)
    system.eventually(lambda: not system.lock_row(bike.lock_id)["online"], "the lock offline")
    window = world.close(bike)
    time.sleep(OFFLINE_S)
    assert system.rental(rental_id)["state"] == "active"
    world.sim.online(bike.lock_id)

    closed = system.wiretap.wait_for(bike.lock_id, "locked", timeout=15)
    assert window[0] - 0.5 <= closed.ts_s <= window[1] + 0.5, "the lock's close time is the close"
    assert_ends_at(system.wait_rental(rental_id, "ended", timeout=20), closed)
    assert_invariants(world.check())
