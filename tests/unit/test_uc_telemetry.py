"""Telemetry and presence in memory (`telemetry.handle_telemetry`, `lock_events.handle_status`): a
lock that says it is locked after the unlock ends the ride at its latch time; fixes,
batteries and presence are kept once, and never overridden by older reports."""

from datetime import timedelta

import pytest

from rental.domain.mds import VehicleEvent
from rental.domain.rentals import RentalState
from rental.domain.zones import Parking
from rental.services.lock_events import handle_status
from rental.services.lock_reports import PresenceReported
from rental.services.telemetry import handle_telemetry
from tests.unit.world import OPENED, START, UNLOCK_BOOT, UNLOCK_SEQ, World, telemetry


@pytest.fixture
def world() -> World:
    return World()


def test_telemetry_ends_the_ride_at_the_latch_time_it_carries(world):
    rider, rental = world.riding()
    # The reconnected lock says: locked since 30 s after opening (its event not yet in).
    report = telemetry(
        rental.lock_id,
        UNLOCK_BOOT + 1,
        1,
        OPENED + timedelta(minutes=45),
        locked=True,
        latch_time=OPENED + timedelta(seconds=30),
    )
    world.report(report)
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.ended_at == OPENED + timedelta(seconds=30)
    assert world.wallet(rider) == 1000 - 150  # one half hour, not two


def test_a_latch_time_later_than_its_report_counts_at_the_reports_time(world):
    _, rental = world.riding()
    at = OPENED + timedelta(minutes=2)
    world.report(
        telemetry(
            rental.lock_id,
            UNLOCK_BOOT,
            UNLOCK_SEQ + 1,
            at,
            locked=True,
            latch_time=at + timedelta(hours=1),
        )
    )
    assert world.rental(rental).ended_at == at


def test_a_locked_telemetry_without_a_latch_time_ends_the_ride_at_its_own_time(world):
    _, rental = world.riding()
    at = OPENED + timedelta(minutes=7)
    world.report(telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at, locked=True))
    ended = world.rental(rental)
    assert ended.ended_at == at
    assert ended.parking is Parking.OK


def test_a_telemetry_from_before_the_unlock_with_a_latch_time_after_it_does_not_end_the_ride(
    world,
):
    _, rental = world.riding()
    stale = telemetry(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ - 1,
        OPENED + timedelta(minutes=1),
        locked=True,
        latch_time=OPENED + timedelta(seconds=30),
    )
    world.report(stale)
    assert world.rental(rental).state is RentalState.ACTIVE


def test_a_telemetry_without_a_usable_position_still_ends_the_ride(world):
    _, rental = world.riding()
    at = OPENED + timedelta(minutes=3)
    world.report(
        telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at, locked=True, where=None)
    )
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.ended_at == at
    assert ended.parking is Parking.UNKNOWN
    assert world.store.lock_positions == {}  # nothing to store without a position


def test_an_open_latch_in_telemetry_never_ends_the_ride_and_its_fix_is_kept(world):
    _, rental = world.riding()
    at = OPENED + timedelta(minutes=1)
    where = (121.48, 31.235)
    world.report(
        telemetry(
            rental.lock_id,
            UNLOCK_BOOT,
            UNLOCK_SEQ + 1,
            at,
            locked=False,
            where=where,
            battery_pct=77,
            accuracy_m=8.0,
        )
    )
    assert world.rental(rental).state is RentalState.ACTIVE
    lock = world.lock(rental.lock_id)
    assert (lock.lon, lock.lat, lock.battery_pct, lock.locked) == (*where, 77, False)
    assert lock.last_seen_at == at + timedelta(seconds=1)
    fix = world.store.lock_positions[(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1)]
    assert (fix.recorded_at, fix.lon, fix.lat, fix.accuracy_m) == (at, *where, 8.0)


def test_a_battery_reading_out_of_range_never_reaches_riders(world):
    _, rental = world.riding()
    report = telemetry(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        OPENED + timedelta(seconds=30),
        locked=False,
        dropped=(("battery_pct", "over 100"),),
    )
    world.report(report)
    assert world.lock(rental.lock_id).battery_pct == 80  # what it said before
    with world.uow() as unit:
        [problem] = unit.lock_log.problems_of(rental.lock_id, 5)
    assert (problem.channel, dict(problem.dropped)) == ("telemetry", {"battery_pct": "over 100"})


def test_a_battery_crossing_the_low_mark_is_kept_in_the_vehicle_history_once(world):
    world.add_bike("L-battery")
    readings = [(1, 10), (1, 10), (2, 12), (3, 60)]  # (seq, battery): the first repeated
    for seq, battery in readings:
        at = START + timedelta(minutes=seq)
        report = telemetry("L-battery", 2, seq, at, locked=True, battery_pct=battery)
        handle_telemetry(world.uow(), report)
    history = [(row.kind, row.at) for row in world.store.vehicle_events]
    assert history == [
        (VehicleEvent.BATTERY_LOW.value, START + timedelta(minutes=1)),
        (VehicleEvent.BATTERY_CHARGED.value, START + timedelta(minutes=3)),
    ]


def test_a_repeated_fix_is_stored_once(world):
    world.add_bike("L-twice")
    report = telemetry("L-twice", 2, 1, START + timedelta(minutes=1), locked=True)
    handle_telemetry(world.uow(), report)
    handle_telemetry(world.uow(), report)
    assert list(world.store.lock_positions) == [("L-twice", 2, 1)]


def test_a_late_will_from_an_earlier_boot_does_not_mark_the_lock_offline(world):
    world.add_bike("L-will")
    at = START + timedelta(minutes=1)
    handle_status(world.uow(), PresenceReported("L-will", True, 5, at))
    handle_status(world.uow(), PresenceReported("L-will", False, 4, at + timedelta(seconds=1)))
    assert world.lock("L-will").online
    assert world.store.vehicle_events == []
    handle_status(world.uow(), PresenceReported("L-will", False, 5, at + timedelta(seconds=2)))
    assert not world.lock("L-will").online


def test_losing_and_regaining_the_connection_is_kept_in_the_vehicle_history(world):
    world.add_bike("L-comms")
    lost, back = START + timedelta(minutes=1), START + timedelta(minutes=9)
    handle_status(world.uow(), PresenceReported("L-comms", False, 1, lost))
    handle_status(world.uow(), PresenceReported("L-comms", False, 1, lost))  # no change
    handle_status(world.uow(), PresenceReported("L-comms", True, 2, back))
    history = [(row.kind, row.at) for row in world.store.vehicle_events]
    assert history == [
        (VehicleEvent.COMMS_LOST.value, lost),
        (VehicleEvent.COMMS_RESTORED.value, back),
    ]
    assert world.lock("L-comms").last_seen_at == back
