"""lockctl dies (kill -9) with lock reports in hand; the locks' outboxes make it good."""

import time

from tests.faults.invariants import assert_ends_at, assert_invariants


def test_a_share_group_member_killed_holding_the_close_loses_nothing(system, scene):
    system.start_lockctl("b")
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike, legs=4)
    time.sleep(1.5)

    # Only `a` in the group, and frozen: the broker hands it the close, which it never
    # acknowledges. Then `b` joins and `a` dies, never to come back.
    member_a, member_b = system.lockctls["a"], system.lockctls["b"]
    member_b.stop()
    member_a.pause()
    world.close(bike)
    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    member_b.start()
    member_a.kill()

    assert_ends_at(system.wait_rental(rental_id, "ended", timeout=30), closed)
    assert_invariants(world.check())


def test_lockctl_killed_during_a_ride_and_restarted_loses_nothing(system, scene):
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike, legs=16)
    time.sleep(1)

    system.lockctls["a"].kill()
    world.close(bike)  # once the ride's fixes are sent; lockctl is still dead
    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    time.sleep(2)
    system.start_lockctl("a")

    assert_ends_at(system.wait_rental(rental_id, "ended", timeout=30), closed)
    assert_invariants(world.check())
