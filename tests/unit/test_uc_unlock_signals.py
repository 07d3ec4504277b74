"""The use cases announce how each unlock ended, once it is committed: the metrics count
these (rental.observability.unlocks). In memory, with the world of tests/unit/world.py."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from rental.domain.fleet import Asset
from rental.domain.rentals import RentalState
from rental.services.commands.rides import RequestUnlock
from rental.services.lock_reports import LockEventKind, PresenceReported
from rental.services.rentals import Unlocking, request_unlock
from rental.services.signals import UnlockOutcome, UnlockSettled, unlock_settled
from tests.unit.fakes import RecordingLockCommands
from tests.unit.world import ARRIVAL, OPENED, START, World, event, unlocked


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def heard() -> Iterator[list[UnlockSettled]]:
    news: list[UnlockSettled] = []

    def listen(sender: UnlockSettled) -> None:
        news.append(sender)

    with unlock_settled.connected_to(listen):
        yield news


def test_a_confirmed_unlock_is_announced_once_with_the_wait_from_scan_to_answer(world, heard):
    asset = world.add_bike("L-1")
    rental = world.request(world.add_rider(), asset)
    assert heard == []

    world.report(unlocked(rental))
    world.report(unlocked(rental))  # the lock resends: nothing new happened

    waited = (OPENED + ARRIVAL - START).total_seconds()
    expected = UnlockSettled(UnlockOutcome.CONFIRMED, rental.id, rental.unlock_command_id, waited)
    assert heard == [expected]


def test_an_unlock_confirmed_after_its_timeout_is_announced_as_late(world, heard):
    rental = world.request(world.add_rider(), world.add_bike("L-1"))
    world.time_out(rental)
    world.report(unlocked(rental, at=START + timedelta(seconds=40)))

    assert [news.outcome for news in heard] == [
        UnlockOutcome.TIMEOUT,
        UnlockOutcome.CONFIRMED_LATE,
    ]
    assert world.rental(rental).state is RentalState.ACTIVE


def test_a_rejected_command_is_announced_as_rejected(world, heard):
    rental = world.request(world.add_rider(), world.add_bike("L-1"))
    command = str(rental.unlock_command_id)
    world.report(event("L-1", 5, 10, LockEventKind.COMMAND_REJECTED, OPENED, command_id=command))

    assert heard == [UnlockSettled(UnlockOutcome.REJECTED, rental.id, rental.unlock_command_id)]


def test_a_scan_of_an_offline_lock_or_an_unreachable_broker_is_announced(world, heard):
    offline: Asset = world.add_bike("L-off")
    world.report(PresenceReported("L-off", False, 1, START))
    rider = world.add_rider()
    first = world.request(rider, offline)
    broken = RecordingLockCommands(fail=True)
    command = RequestUnlock(world.add_rider().id, world.add_bike("L-2").code, "scan-0002")
    second = request_unlock(world.uow(), broken, command, START, Unlocking(timedelta(seconds=30)))

    assert [(news.outcome, news.rental_id) for news in heard] == [
        (UnlockOutcome.LOCK_OFFLINE, first.id),
        (UnlockOutcome.LOCK_UNREACHABLE, second.id),
    ]


def test_a_failing_listener_never_fails_the_use_case(world):
    def broken(_sender: UnlockSettled) -> None:
        raise RuntimeError("a metrics bug")

    rental = world.request(world.add_rider(), world.add_bike("L-1"))
    with unlock_settled.connected_to(broken):
        world.report(unlocked(rental))
    assert world.rental(rental).state is RentalState.ACTIVE
