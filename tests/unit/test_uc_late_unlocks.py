"""Late confirmations and open latches (docs/lock-protocol.md §5.4), in memory: a lock that
opens after its rental timed out gives the rider their ride, free if it is locked again
unused, unless the rider or the vehicle has moved on; then the latch is open without a
rental, hidden from riders and alerted."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from rental.domain.alerts import AlertKind
from rental.domain.fleet import ServicePolicy
from rental.domain.rentals import LATE_UNLOCK_NOTICE, FailureReason, RentalState
from rental.services import alerts, assets
from rental.services.lock_reports import LockEventKind
from tests.unit.world import (
    BIKE_PRICE,
    HOME,
    OUTSIDE,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    World,
    closed,
    event,
    telemetry,
    unlocked,
)

LATE = START + timedelta(seconds=40)  # when the lock opened, by its clock: after the timeout


@pytest.fixture
def world() -> World:
    return World()


def timed_out(world: World, lock_id: str = "L-late", credit_minor: int = 1000):
    asset = world.add_bike(lock_id)
    rider = world.add_rider(credit_minor)
    rental = world.request(rider, asset)
    world.time_out(rental)
    return rider, rental


def close_at(rental, seconds_after_opening: float, where=HOME, seq: int = UNLOCK_SEQ + 10):
    return closed(
        rental.lock_id, UNLOCK_BOOT, seq, LATE + timedelta(seconds=seconds_after_opening), where
    )


def test_a_late_confirmation_becomes_the_riders_ride_from_the_moment_it_opened(world):
    _, rental = timed_out(world)
    world.report(unlocked(rental, at=LATE))
    adopted = world.rental(rental)
    assert adopted.state is RentalState.ACTIVE and adopted.failure_reason is None
    assert adopted.late_unlock and adopted.notice == LATE_UNLOCK_NOTICE
    assert adopted.started_at == LATE
    assert [row.kind for row in world.store.vehicle_events] == ["trip_start"]


def test_a_late_opened_bike_ridden_away_is_charged_like_any_ride(world):
    rider, rental = timed_out(world)
    world.report(unlocked(rental, at=LATE))
    for n in (1, 2, 3):  # about 95 m every 20 s
        fix_at = LATE + timedelta(seconds=20 * n)
        where = (HOME[0] + 0.001 * n, HOME[1])
        world.report(
            telemetry(
                rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + n, fix_at, locked=False, where=where
            )
        )
    world.report(close_at(rental, 80, where=(HOME[0] + 0.003, HOME[1])))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.duration_seconds == 80
    assert ended.distance_m == pytest.approx(190.2, abs=0.5)  # far more than the grace's 50 m
    assert ended.fare_minor == 150
    assert world.wallet(rider) == 1000 - 150


def test_a_late_opened_bike_locked_again_unused_costs_nothing(world):
    rider, rental = timed_out(world)
    world.report(unlocked(rental, at=LATE))
    world.report(close_at(rental, 10))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.fare_minor == 0
    assert ended.duration_seconds == 10  # the time it was open is still recorded
    assert [(line.kind, line.amount_minor) for line in ended.receipt_lines()] == [
        ("riding", 150),
        ("late_unlock_waiver", -150),
    ]
    assert ended.notice == "The lock opened late and was locked again unused: no charge."
    assert world.wallet(rider) == 1000


@pytest.mark.parametrize(("seconds", "fare"), [(300, 0), (301, 150)])
def test_the_late_unlock_grace_lasts_five_minutes_included(world, seconds, fare):
    _, rental = timed_out(world)
    world.report(unlocked(rental, at=LATE))
    world.report(close_at(rental, seconds))
    assert world.rental(rental).fare_minor == fare


def test_the_late_unlock_grace_waives_the_time_but_not_a_parking_fee():
    world = World(bike_price=replace(BIKE_PRICE, out_of_zone_fee_minor=500))
    rider, rental = timed_out(world)
    world.report(unlocked(rental, at=LATE))
    world.report(close_at(rental, 10, where=OUTSIDE))
    ended = world.rental(rental)
    assert ended.fare_minor == 500
    assert sum(line.amount_minor for line in ended.receipt_lines()) == 500
    assert [line.kind for line in ended.receipt_lines()] == [
        "riding",
        "late_unlock_waiver",
        "parking_fee",
    ]
    assert world.wallet(rider) == 1000 - 500


def test_a_close_processed_before_its_late_unlock_ends_the_ride_at_once(world):
    _, rental = timed_out(world)
    world.report(close_at(rental, 10, seq=UNLOCK_SEQ + 1))
    assert world.rental(rental).state is RentalState.FAILED
    world.report(unlocked(rental, at=LATE))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.duration_seconds == 10


def test_a_close_processed_before_its_unlock_ends_the_ride_when_the_unlock_arrives(world):
    asset = world.add_bike("L-replayed")
    rider = world.add_rider()
    rental = world.request(rider, asset)
    opened = START + timedelta(seconds=3)
    world.report(
        closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, opened + timedelta(minutes=31))
    )
    world.report(unlocked(rental, at=opened))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and not ended.late_unlock
    assert (ended.duration_seconds, ended.fare_minor) == (31 * 60, 300)


def test_a_late_open_latch_the_rider_did_not_take_is_hidden_and_alerted(world):
    rider, rental = timed_out(world)
    other = world.add_bike("L-other")
    world.request(rider, other, at=START + timedelta(seconds=35))  # they took another bike
    world.report(unlocked(rental, at=LATE))
    failed = world.rental(rental)
    assert (failed.state, failed.failure_reason) == (RentalState.FAILED, FailureReason.TIMEOUT)
    [alert], _ = alerts.open_alerts(world.uow(), None)
    assert (alert.kind, alert.lock_id, alert.asset_code) == (
        AlertKind.LATCH_OPEN_WITHOUT_RENTAL,
        "L-late",
        "BK-L-late",
    )
    now = LATE + timedelta(minutes=1)
    assert "latch_open" in unavailable(world, "BK-L-late", now)
    # Closed by staff: the next pass resolves the alert and the bike is offered again.
    world.report(close_at(rental, 60, seq=UNLOCK_SEQ + 1))
    passed = alerts.reconcile_latches(world.uow(), now + timedelta(minutes=1), 0)
    assert passed.alerts_resolved == 1
    assert alerts.open_alerts(world.uow(), None)[0] == []
    assert unavailable(world, "BK-L-late", now + timedelta(minutes=1)) == []


def test_a_late_unlock_is_not_adopted_while_another_rider_has_the_vehicle(world):
    rider, rental = timed_out(world)
    taker = world.add_rider()
    world.request(taker, world.asset_by_code("BK-L-late"), at=START + timedelta(seconds=36))
    world.report(unlocked(rental, at=LATE))
    assert world.rental(rental).state is RentalState.FAILED
    assert world.wallet(rider) == 1000


def test_an_unlock_for_a_rejected_command_is_never_adopted(world):
    asset = world.add_bike("L-refused")
    rental = world.request(world.add_rider(), asset)
    world.report(
        event(
            rental.lock_id,
            UNLOCK_BOOT,
            UNLOCK_SEQ - 1,
            LockEventKind.COMMAND_REJECTED,
            START + timedelta(seconds=1),
            command_id=str(rental.unlock_command_id),
            reason="bad_signature",
        )
    )
    world.report(unlocked(rental, at=START + timedelta(seconds=2)))
    refused = world.rental(rental)
    assert (refused.state, refused.failure_reason) == (RentalState.FAILED, FailureReason.REJECTED)
    [alert], _ = alerts.open_alerts(world.uow(), None)
    assert alert.kind is AlertKind.LATCH_OPEN_WITHOUT_RENTAL


def test_an_unlock_for_a_ride_already_over_opens_an_alert(world):
    _, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, START + timedelta(minutes=2)))
    again = unlocked(rental, at=START + timedelta(minutes=3), seq=UNLOCK_SEQ + 2)
    world.report(again)
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.ended_at == START + timedelta(minutes=2)
    [alert], _ = alerts.open_alerts(world.uow(), None)
    assert alert.lock_id == rental.lock_id


def unavailable(world: World, code: str, now: datetime) -> list[str]:
    """Why riders cannot take the asset now, as operators see it (empty: available)."""
    rows = assets.asset_overview(world.uow(), None, now, ServicePolicy())
    [reasons] = [[reason.value for reason in row.unavailable] for row in rows if row.code == code]
    return reasons


def test_a_fix_saying_locked_processed_before_its_unlock_ends_the_ride_when_it_arrives(world):
    asset = world.add_bike("L-fix-first")
    rider = world.add_rider()
    rental = world.request(rider, asset)
    opened = START + timedelta(seconds=3)
    closed_at = opened + timedelta(minutes=12)
    world.report(telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, closed_at, locked=True))
    world.report(unlocked(rental, at=opened))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.duration_seconds == 12 * 60


@pytest.mark.parametrize("reported_since", [0, 1, 2])
def test_an_unlock_looks_for_a_later_close_only_when_the_lock_reported_since(
    world, monkeypatch, reported_since
):
    # Every close moves the lock's latch to its own (boot, seq): an unlock that is the lock's
    # newest report has no close after it to find, and saves its transaction the search.
    asset = world.add_bike("L-in-order")
    rental = world.request(world.add_rider(), asset)
    opened = START + timedelta(seconds=3)
    later = [
        telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, opened, locked=False),
        event(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 2, LockEventKind.FAULT, opened),
    ][:reported_since]
    for report in later:
        world.report(report)
    searches = []
    search = type(world.uow().lock_log).first_close_after

    def counted(self, *args):
        searches.append(args)
        return search(self, *args)

    monkeypatch.setattr(type(world.uow().lock_log), "first_close_after", counted)
    world.report(unlocked(rental, at=opened))
    assert world.rental(rental).state is RentalState.ACTIVE
    # A fault carries no latch: only the fix is a report the unlock must look past.
    assert len(searches) == (0 if reported_since == 0 else 1)
