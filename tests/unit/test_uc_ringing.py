"""Ringing the bike, in memory: only the rider holding or riding a vehicle may ring it; the
ring goes to that vehicle's lock, signed with its key and short-lived."""

import dataclasses
import uuid
from datetime import timedelta

import pytest

from rental.domain.errors import Conflict, Forbidden, NotFound, Unavailable
from rental.domain.fleet import ServicePolicy
from rental.services import reservations, ringing
from rental.services.commands.rides import Reserve, RingVehicle
from tests.unit.fakes import RecordingLockCommands
from tests.unit.fakes.world import World

POLICY = ServicePolicy()
SILENCE = POLICY.silence


@pytest.fixture
def world() -> World:
    return World()


def ring(world, rider, asset, locks=None):
    locks = locks if locks is not None else RecordingLockCommands()
    command = RingVehicle(rider.id, asset.id)
    return ringing.ring_vehicle(world.uow(), locks, command, world.now, SILENCE), locks


def hold(world, rider, asset):
    command = Reserve(rider.id, asset.code, "hold-0001")
    return reservations.reserve(world.uow(), command, world.now, timedelta(minutes=15), POLICY)


def test_the_rider_holding_a_bike_rings_its_own_lock_with_a_short_lived_signed_command(world):
    bike, rider = world.bike(), world.rider(1000)
    hold(world, rider, bike)

    sent, locks = ring(world, rider, bike)

    [command] = locks.rung
    assert command.lock_id == bike.lock_id and command.signing_key == b"k" * 32
    assert command.command_id == sent.command_id and sent.asset_id == bike.id
    assert (command.issued_at, command.expires_at) == (world.now, world.now + timedelta(seconds=10))


def test_the_rider_riding_a_bike_may_ring_it(world):
    bike, rider = world.bike(), world.rider(1000)
    world.scan(rider, bike)
    _, locks = ring(world, rider, bike)
    assert [command.lock_id for command in locks.rung] == [bike.lock_id]


def test_nobody_else_may_ring_a_bike_held_ridden_or_free(world):
    held, ridden, free = world.bike(), world.bike(), world.bike()
    holder, rider, stranger = world.rider(1000), world.rider(1000), world.rider(1000)
    hold(world, holder, held)
    world.scan(rider, ridden)
    locks = RecordingLockCommands()
    for asset in (held, ridden, free):
        with pytest.raises(Forbidden) as refusal:
            ring(world, stranger, asset, locks)
        assert refusal.value.code == "not_your_vehicle"
    with pytest.raises(Forbidden):  # the holder's hold is of another bike
        ring(world, holder, ridden, locks)
    assert locks.rung == []


def test_an_expired_hold_rings_nothing(world):
    bike, rider = world.bike(), world.rider(1000)
    hold(world, rider, bike)
    world.now += timedelta(minutes=16)
    with pytest.raises(Forbidden):
        ring(world, rider, bike)


def test_an_unknown_vehicle_or_an_item_without_a_lock_of_its_own_cannot_ring(world):
    rider = world.rider(1000)
    cabinet = world.cabinet()
    item = world.item(cabinet, 1)
    unknown = dataclasses.replace(item, id=uuid.uuid4())
    for asset in (unknown, item):
        with pytest.raises(NotFound) as refusal:
            ring(world, rider, asset)
        assert refusal.value.code == "asset_not_found"


def test_a_broker_that_takes_nothing_is_said_so(world):
    bike, rider = world.bike(), world.rider(1000)
    hold(world, rider, bike)
    with pytest.raises(Unavailable) as failed:
        ring(world, rider, bike, RecordingLockCommands(fail=True))
    assert failed.value.code == "lock_unreachable"


def test_a_held_bike_whose_lock_went_silent_cannot_ring(world):
    bike, rider = world.bike(), world.rider(1000)
    hold(world, rider, bike)
    world.now += SILENCE + timedelta(seconds=1)
    # Still held (a longer hold than usual), but the lock has not been heard from.
    with world.uow() as unit:
        held = unit.reservations.held_by_rider(rider.id)
        held.expires_at = world.now + timedelta(minutes=1)
        unit.reservations.save(held)
        unit.commit()
    with pytest.raises(Conflict) as refusal:
        ring(world, rider, bike)
    assert refusal.value.code == "lock_offline"
