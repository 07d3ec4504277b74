"""No fault at all: the checks hold, so a failure elsewhere is the fault's doing."""

from tests.faults.invariants import assert_ends_at, assert_invariants


def test_a_ride_without_faults_keeps_every_invariant(system, scene):
    world = scene(bikes=2)
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike)
    world.close(bike)

    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    ended = system.wait_rental(rental_id, "ended")
    assert_ends_at(ended, closed)
    assert ended["fare_minor"] == 150
    assert world.monitor.samples > 0
    assert_invariants(world.check())
