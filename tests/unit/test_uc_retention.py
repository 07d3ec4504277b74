"""Forgetting where locks were (`rental.services.retention`), in memory: fixes and lock
events older than the retention period go, fixes by whole days where room was made for
their day ahead, the rest in slices of their own transaction; a trip's own path and what
is newer stay."""

from datetime import timedelta

import pytest

from rental.services import retention
from rental.services.repositories.rides import LockFix
from tests.unit.world import HOME, START, World

KEEP = timedelta(days=30)
NOW = START + timedelta(days=60)
RECENT = START + timedelta(days=50)


@pytest.fixture
def world() -> World:
    world = World()
    world.add_lock("L-1")
    return world


def fixes(world: World, at, seqs) -> None:
    with world.uow() as unit:
        for seq in seqs:
            unit.lock_log.record_fixes([LockFix("L-1", 1, seq, at, *HOME, True, 80, None)])
        unit.commit()


def events(world: World, received_at, seqs, lock_time=START) -> None:
    world.now = received_at  # lock events are dated by their arrival in the log
    with world.uow() as unit:
        for seq in seqs:
            unit.lock_log.record_event("L-1", 1, seq, "fault", None, {}, lock_time)
        unit.commit()


def test_reports_older_than_the_retention_period_are_forgotten_in_slices(world, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    fixes(world, START, range(1, 6))
    events(world, START, range(11, 14))
    fixes(world, RECENT, [21, 22])
    events(world, RECENT, [31])
    unit = world.uow()
    assert retention.forget_old_lock_reports(unit, NOW, KEEP) == 5 + 3
    # Whole days first (none were made room for here), then (2 + 2), (2 + 1), (1 + 0),
    # then nothing left.
    assert unit.commits == 5
    assert sorted(world.store.lock_positions) == [("L-1", 1, 21), ("L-1", 1, 22)]
    assert sorted(world.store.lock_events) == [("L-1", 1, 31)]


def test_an_event_is_kept_by_when_it_arrived_not_by_the_locks_clock(world):
    events(world, RECENT, [1], lock_time=START)
    assert retention.forget_old_lock_reports(world.uow(), NOW, KEEP) == 0
    assert list(world.store.lock_events) == [("L-1", 1, 1)]


def test_a_report_exactly_as_old_as_the_retention_period_is_kept(world):
    fixes(world, NOW - KEEP, [1])
    fixes(world, NOW - KEEP - timedelta(microseconds=1), [2])
    assert retention.forget_old_lock_reports(world.uow(), NOW, KEEP) == 1
    assert list(world.store.lock_positions) == [("L-1", 1, 1)]


def test_forgetting_leaves_a_finished_trips_own_path(world):
    _, rental = world.riding()
    with world.uow() as unit:
        unit.rentals.set_trace(rental.id, "LINESTRING (121.47 31.23, 121.48 31.23)")
        unit.commit()
    fixes(world, START, [1])
    assert retention.forget_old_lock_reports(world.uow(), NOW, KEEP) == 2  # a fix, the unlock
    assert world.store.lock_events == {} and world.store.lock_positions == {}
    assert world.store.rentals[rental.id].trace == [(121.47, 31.23), (121.48, 31.23)]


def test_room_is_made_for_the_coming_days_once(world):
    assert retention.prepare_fix_days(world.uow(), NOW, days_ahead=7) == 8  # today and 7
    assert retention.prepare_fix_days(world.uow(), NOW + timedelta(days=1), days_ahead=7) == 1


def test_a_day_of_fixes_is_forgotten_whole_once_all_of_it_is_past_the_retention(world):
    retention.prepare_fix_days(world.uow(), START, days_ahead=40)
    cutoff = NOW - KEEP  # START + 30 days, at 08:00
    day_before = cutoff - timedelta(hours=9)  # the day before the cutoff's, at 23:00
    same_day = cutoff - timedelta(hours=1)  # older than the cutoff, but of its day
    fixes(world, day_before, [1])
    fixes(world, same_day, [2])
    fixes(world, cutoff + timedelta(days=1), [3])  # as old as the retention tomorrow
    assert retention.forget_old_lock_reports(world.uow(), NOW, KEEP) == 1
    assert sorted(world.store.lock_positions) == [("L-1", 1, 2), ("L-1", 1, 3)]
    tomorrow = NOW + timedelta(days=1)  # the cutoff's day has ended: it goes whole
    assert retention.forget_old_lock_reports(world.uow(), tomorrow, KEEP) == 1
    assert sorted(world.store.lock_positions) == [("L-1", 1, 3)]
