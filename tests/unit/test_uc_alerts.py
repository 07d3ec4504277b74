"""The reconciling pass in memory (`rental.services.alerts`): it ends rides whose close is
already in the lock log, raises a latch open without a rental once, resolves it when the
latch closes, and lists what operators must look at."""

from datetime import timedelta

import pytest

from rental.domain.alerts import AlertKind
from rental.domain.rentals import RentalState
from rental.services import alerts
from rental.services.dead_letters import store_dead_letter
from rental.services.repositories.rides import LockFix
from tests.unit.world import (
    CITY,
    HOME,
    OPENED,
    OTHER_CITY,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    World,
    closed,
    telemetry,
)

NOW = START + timedelta(hours=1)


@pytest.fixture
def world() -> World:
    return World()


def reconcile(world: World, now=NOW) -> alerts.Reconciliation:
    return alerts.reconcile_latches(world.uow(), now, 0)


def forced_open(world: World, lock_id: str = "L-forced", seq: int = 30):
    """The bike's lock reports its latch open with no rental (someone forced it)."""
    world.add_bike(lock_id)
    at = START + timedelta(minutes=seq)
    world.report(telemetry(lock_id, 1, seq, at, locked=False))
    return at


def stored_without_applying(world: World, lock_id: str, boot: int, seq: int, at, **payload):
    """A close in the log that no use case applied (e.g. a replayed dead letter's)."""
    with world.uow() as unit:
        unit.lock_log.record_event(lock_id, boot, seq, "locked", None, payload, at)
        unit.commit()


def test_the_reconciling_pass_raises_an_open_latch_nobody_rented_once(world):
    since = forced_open(world)
    assert reconcile(world) == alerts.Reconciliation(0, 1, 0)
    assert reconcile(world).alerts_opened == 0
    [alert], _ = alerts.open_alerts(world.uow(), None)
    assert (alert.kind, alert.lock_id, alert.asset_code, alert.city_id) == (
        AlertKind.LATCH_OPEN_WITHOUT_RENTAL,
        "L-forced",
        "BK-L-forced",
        CITY,
    )
    assert alert.detail == f"latch reported open at {since.isoformat()} with no rental"
    assert alert.opened_at == NOW


def test_an_open_latch_alert_resolves_once_the_lock_reports_it_closed(world):
    forced_open(world, seq=30)
    reconcile(world)
    world.report(telemetry("L-forced", 1, 31, START + timedelta(minutes=31), locked=True))
    assert reconcile(world, NOW + timedelta(seconds=10)).alerts_resolved == 1
    assert alerts.open_alerts(world.uow(), None)[0] == []
    [resolved] = [alert for alert in world.store.alerts.values()]
    assert resolved.resolved_at == NOW + timedelta(seconds=10)


def test_a_latch_open_for_a_ride_is_no_alert(world):
    world.riding()
    assert reconcile(world) == alerts.Reconciliation(0, 0, 0)


def test_a_cabinets_open_latch_is_no_alert(world):
    world.add_cabinet("C-open")
    world.report(telemetry("C-open", 1, 1, START, locked=False))
    assert reconcile(world).alerts_opened == 0


def test_the_reconciling_pass_ends_a_ride_whose_close_was_stored_but_not_applied(world):
    rider, rental = world.riding()
    closed_at = OPENED + timedelta(seconds=30)
    stored_without_applying(
        world, rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, closed_at, lon=HOME[0], lat=HOME[1]
    )
    assert reconcile(world).rides_ended == 1
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.ended_at == closed_at
    assert world.store.rentals[rental.id].end_position == HOME
    assert world.wallet(rider) == 1000 - 150
    assert reconcile(world).rides_ended == 0  # idempotent


def test_the_reconciling_pass_ends_a_ride_at_a_stored_locked_fix(world):
    _, rental = world.riding()
    fixed_at = OPENED + timedelta(minutes=4)
    with world.uow() as unit:
        unit.lock_log.record_fixes([LockFix(rental.lock_id, 6, 1, fixed_at, *HOME, True, 70, 5.0)])
        unit.commit()
    assert reconcile(world).rides_ended == 1
    assert world.rental(rental).ended_at == fixed_at


def test_the_reconciling_pass_takes_the_first_close_in_the_locks_order(world):
    _, rental = world.riding()
    first, second = OPENED + timedelta(minutes=3), OPENED + timedelta(minutes=2)
    stored_without_applying(world, rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 2, second)
    stored_without_applying(world, rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, first)
    reconcile(world)
    assert world.rental(rental).ended_at == first


def test_the_reconciling_pass_leaves_a_ride_whose_stored_closes_came_before_its_unlock(world):
    _, rental = world.riding()
    later = OPENED + timedelta(minutes=5)
    stored_without_applying(world, rental.lock_id, UNLOCK_BOOT - 1, 99, later)
    stored_without_applying(world, rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, START)
    assert reconcile(world).rides_ended == 0
    assert world.rental(rental).state is RentalState.ACTIVE


def test_open_alerts_are_listed_by_city_with_the_dead_letters_waiting(world):
    forced_open(world)
    reconcile(world)
    store_dead_letter(world.uow(), "lock/v1/L-x/evt", b"{}", "not a report", NOW)
    replayed = store_dead_letter(world.uow(), "lock/v1/L-y/evt", b"[]", "not a report", NOW)
    with world.uow() as unit:
        unit.dead_letters.mark_replayed(replayed, NOW, "processed")
        unit.commit()
    found, waiting = alerts.open_alerts(world.uow(), CITY)
    assert ([alert.lock_id for alert in found], waiting) == (["L-forced"], 1)
    assert alerts.open_alerts(world.uow(), OTHER_CITY) == ([], 1)


def test_a_close_stored_before_the_ride_started_by_the_locks_clock_is_ignored(world):
    _, rental = world.riding()
    stored_without_applying(
        world, rental.lock_id, UNLOCK_BOOT + 1, 1, OPENED - timedelta(seconds=1)
    )
    assert reconcile(world).rides_ended == 0
    world.report(closed(rental.lock_id, UNLOCK_BOOT + 1, 2, OPENED + timedelta(minutes=1)))
    assert world.rental(rental).ended_at == OPENED + timedelta(minutes=1)
