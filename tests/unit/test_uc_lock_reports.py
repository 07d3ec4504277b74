"""Lock reports as commands (`rental.services.lock_reports`) and their one entry,
`lock_events.apply`, in memory: a decoder (the tiny `JsonDecoder` of tests/unit/world.py)
turns a message into a command; events are acknowledged and kept as the lock sent them;
the settings decide the wallet floor and the low-battery mark."""

import json
from datetime import timedelta

import pytest

from rental.domain.mds import VehicleEvent
from rental.domain.rentals import RentalState
from rental.services import lock_events
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import LockEventKind, PresenceReported, ReportSettings
from tests.unit.world import (
    HOME,
    OPENED,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    JsonDecoder,
    World,
    closed,
    event,
    ms,
    telemetry,
)


@pytest.fixture
def world() -> World:
    return World()


def test_only_an_event_is_answered_with_an_acknowledgement(world):
    lock = world.add_lock("L-1")
    at = START + timedelta(minutes=1)
    fault = event("L-1", 2, 1, LockEventKind.FAULT, at, reason="tilt")
    assert world.report(fault) == AcknowledgeEvent("L-1", lock.signing_key, 2, 1)
    assert world.report(telemetry("L-1", 2, 2, at, locked=True)) is None
    assert world.report(PresenceReported("L-1", True, 2, at)) is None


@pytest.mark.parametrize("kind", list(LockEventKind))
def test_each_kind_of_event_decoded_from_a_message_is_kept_under_the_protocols_name(world, kind):
    world.add_bike("L-1")
    message = {"channel": "evt", "boot": 2, "seq": 1, "type": kind.value, "ts": ms(START)}
    report = JsonDecoder().decode("L-1", json.dumps(message).encode(), START)
    assert world.report(report) is not None
    stored = world.store.lock_events[("L-1", 2, 1)]
    assert stored.type == kind.value


def test_the_kinds_of_event_are_the_seven_of_the_protocol():
    assert [kind.value for kind in LockEventKind] == [
        "unlocked",
        "locked",
        "cmd_rejected",
        "fault",
        "released",
        "returned",
        "rang",
    ]


def test_an_event_is_kept_as_the_lock_sent_it_and_dated_no_later_than_its_arrival(world):
    world.add_lock("L-1")
    arrived = START + timedelta(minutes=1)
    ahead = arrived + timedelta(minutes=5)  # the lock's clock runs ahead
    report = event(
        "L-1", 2, 9, LockEventKind.LOCKED, ahead, received_at=arrived, lon=HOME[0], lat=HOME[1]
    )
    world.report(report)
    stored = world.store.lock_events[("L-1", 2, 9)]
    assert stored.payload == {
        "boot": 2,
        "seq": 9,
        "ts": ms(ahead),
        "type": "locked",
        "lon": HOME[0],
        "lat": HOME[1],
    }
    assert stored.lock_time == arrived


def test_the_wallet_floor_of_the_settings_leaves_the_rest_of_a_fare_as_debt():
    world = World(wallet_floor_minor=900)
    rider, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, OPENED + timedelta(minutes=5)))
    assert world.rental(rental).state is RentalState.ENDED
    assert (world.wallet(rider), world.debt(rider)) == (900, 50)


@pytest.mark.parametrize(
    ("low_battery_pct", "history"), [(15, []), (30, [VehicleEvent.BATTERY_LOW.value])]
)
def test_the_low_battery_mark_of_the_settings_decides_when_a_battery_is_low(
    world, low_battery_pct, history
):
    world.add_bike("L-1")  # at 80 %
    settings = ReportSettings(low_battery_pct=low_battery_pct)
    report = telemetry("L-1", 2, 1, START + timedelta(minutes=1), locked=True, battery_pct=25)
    lock_events.apply(world.uow, report, settings)
    assert [row.kind for row in world.store.vehicle_events] == history
