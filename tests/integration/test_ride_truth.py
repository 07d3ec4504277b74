"""A ride is billed by the lock's own order and clock, whatever arrives late, twice or
broken: the rules of docs/lock-protocol.md §5.3, on the real database."""

import uuid
from datetime import timedelta

import pytest

from rental.adapters.locks.protocol import Event, EventType, Telemetry
from rental.adapters.locks.reports import event_reported, telemetry_reported
from rental.api.vehicles import nearby_search
from rental.bootstrap import utc_now
from rental.domain.alerts import AlertKind
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.rentals import FailureReason, RentalState
from rental.services import alerts, vehicles
from rental.services import lock_events as reports
from rental.services.lock_reports import ReportRefused
from rental.services.rentals import fail_unanswered_unlocks
from tests.conftest import new_lock_id
from tests.helpers import ago, ms, started_rental

HERE = {"lon": "121.47", "lat": "31.23"}


def unlocked(rental, boot=5, seq=10, age=50.0):
    return Event(boot, seq, ms(ago(age)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))


def riding(platform, lock_id):
    """A rental confirmed by the lock 50 s ago as (boot 5, seq 10)."""
    rider, rental, _ = started_rental(platform, lock_id)
    reports.handle_event(platform.uow(), event_reported(lock_id, unlocked(rental), utc_now()))
    return rider, rental


def state_of(platform, rental):
    with platform.uow() as uow:
        return uow.rentals.get(rental.id)


def wallet(platform, rider):
    with platform.uow() as uow:
        return uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))


@pytest.mark.parametrize(
    ("boot", "seq", "fix_seq", "age", "why"),
    [
        (5, 11, 12, 55.0, "its clock says before the unlock"),
        (4, 99, 100, 10.0, "an older boot"),
        (5, 9, 8, 10.0, "an earlier seq of the unlock's boot"),
    ],
)
def test_a_close_from_before_the_unlock_never_ends_the_ride(platform, boot, seq, fix_seq, age, why):
    lock_id = new_lock_id()
    rider, rental = riding(platform, lock_id)
    stale = Event(boot, seq, ms(ago(age)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, stale, utc_now()))
    stale_fix = Telemetry(boot, fix_seq, ms(ago(age)), 121.47, 31.23, locked=True)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, stale_fix, utc_now()))
    assert state_of(platform, rental).state is RentalState.ACTIVE, why
    assert wallet(platform, rider) == 1000


def test_a_close_from_a_later_boot_ends_the_ride_at_its_own_time(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    closed = Event(6, 1, ms(ago(20)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert 29 <= ended.duration_seconds <= 31


def test_an_event_reusing_a_telemetrys_boot_and_seq_is_refused(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    fix = Telemetry(5, 11, ms(ago(30)), 121.47, 31.23, locked=False)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, fix, utc_now()))
    forged = Event(5, 11, ms(ago(20)), EventType.LOCKED, lon=121.47, lat=31.23)
    with pytest.raises(ReportRefused, match="used by telemetry"):
        reports.handle_event(platform.uow(), event_reported(lock_id, forged, utc_now()))
    assert state_of(platform, rental).state is RentalState.ACTIVE


def test_a_close_delivered_late_is_billed_at_the_locks_time_not_its_arrival(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    # Closed 40 s ago while offline; the lock's outbox delivers it now.
    closed = Event(5, 11, ms(ago(40)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    ended = state_of(platform, rental)
    assert 9 <= ended.duration_seconds <= 11


def test_telemetry_ends_the_ride_at_the_latch_time_it_carries(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    # The reconnected lock says: locked since 30 s ago (its `locked` event not yet in).
    report = Telemetry(6, 1, ms(ago(1)), 121.47, 31.23, locked=True, latch_ts=ms(ago(30)))
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, report, utc_now()))
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert 19 <= ended.duration_seconds <= 21


def test_a_locked_event_with_an_unusable_position_ends_the_ride_with_a_doubt(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    closed = Event(5, 11, ms(ago(5)), EventType.LOCKED, dropped=(("lon", "not finite"),))
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert ended.position_doubt is not None
    assert ended.out_of_zone_fee_minor == 0
    with platform.uow() as uow:
        [problem] = uow.lock_log.problems_of(lock_id, 10)
    assert dict(problem.dropped) == {"lon": "not finite"}


def test_a_telemetry_without_a_usable_position_still_ends_the_ride(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    report = Telemetry(5, 11, ms(ago(3)), None, None, locked=True, battery_pct=70)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, report, utc_now()))
    assert state_of(platform, rental).state is RentalState.ENDED


def test_an_old_report_never_overrides_the_latch_state_of_a_newer_one(platform):
    lock_id = new_lock_id()
    riding(platform, lock_id)  # unlocked as (5, 10): the latch is open
    late = Telemetry(5, 3, ms(ago(70)), 121.47, 31.23, locked=True)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, late, utc_now()))
    with platform.uow() as uow:
        assert uow.locks.get(lock_id).locked is False


def time_out(platform, rental):
    expired = fail_unanswered_unlocks(
        platform.uow(), utc_now() + timedelta(minutes=5), timedelta(0)
    )
    assert rental.id in expired
    assert state_of(platform, rental).failure_reason is FailureReason.TIMEOUT


def test_a_late_confirmation_becomes_the_riders_ride_from_the_moment_it_opened(platform):
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id)
    time_out(platform, rental)
    reports.handle_event(
        platform.uow(), event_reported(lock_id, unlocked(rental, age=30), utc_now())
    )
    adopted = state_of(platform, rental)
    assert adopted.state is RentalState.ACTIVE and adopted.late_unlock
    assert adopted.notice
    # Ridden for 20 minutes and more: charged like any ride, from the opening.
    moved = [
        Telemetry(5, 11 + n, ms(ago(29 - n)), 121.47 + 0.001 * n, 31.23, locked=False)
        for n in range(3)
    ]
    for fix in moved:
        reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, fix, utc_now()))
    closed = Event(5, 20, ms(ago(5)), EventType.LOCKED, lon=121.472, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert 24 <= ended.duration_seconds <= 26
    assert ended.fare_minor == 150
    assert wallet(platform, rider) == 850


def test_a_late_opened_bike_locked_again_unused_costs_nothing(platform):
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id)
    time_out(platform, rental)
    reports.handle_event(
        platform.uow(), event_reported(lock_id, unlocked(rental, age=30), utc_now())
    )
    closed = Event(5, 11, ms(ago(20)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED and ended.fare_minor == 0
    assert 9 <= ended.duration_seconds <= 11  # the time it was open is still recorded
    assert sum(line.amount_minor for line in ended.receipt_lines()) == 0
    assert wallet(platform, rider) == 1000


def test_a_close_processed_before_its_late_unlock_ends_the_ride_at_once(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    time_out(platform, rental)
    closed = Event(5, 11, ms(ago(20)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    reports.handle_event(
        platform.uow(), event_reported(lock_id, unlocked(rental, age=30), utc_now())
    )
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert 9 <= ended.duration_seconds <= 11


def test_a_late_open_latch_the_rider_did_not_take_is_hidden_and_alerted(platform):
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id)
    time_out(platform, rental)
    # The rider rode another bike meanwhile: the late-opened one is nobody's.
    other = new_lock_id()
    _, _, _ = started_rental(platform, other)
    with platform.uow() as uow:
        other_rental = uow.connection.exec_driver_sql(
            "SELECT id FROM rentals WHERE lock_id = %s", (other,)
        ).scalar()
        uow.connection.exec_driver_sql(
            "UPDATE rentals SET rider_id = %s WHERE id = %s", (rider.id, other_rental)
        )
        uow.commit()
    reports.handle_event(
        platform.uow(), event_reported(lock_id, unlocked(rental, age=30), utc_now())
    )
    assert state_of(platform, rental).state is RentalState.FAILED
    found, _ = alerts.open_alerts(platform.uow(), None)
    assert [(a.kind, a.lock_id) for a in found] == [(AlertKind.LATCH_OPEN_WITHOUT_RENTAL, lock_id)]
    nearby = vehicles.nearby(
        platform.uow(), nearby_search(HERE), utc_now(), platform.config.service_policy()
    )
    assert f"BK-{lock_id}" not in [vehicle.code for vehicle in nearby]
    # Closed by staff: the next pass resolves the alert and the bike is offered again.
    closed = Event(5, 11, ms(ago(1)), EventType.LOCKED, lon=121.47, lat=31.23)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, utc_now()))
    alerts.reconcile_latches(platform.uow(), utc_now(), 0)
    assert alerts.open_alerts(platform.uow(), None)[0] == []


def test_the_reconciling_pass_raises_an_open_latch_nobody_rented(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    time_out(platform, rental)
    forced = Telemetry(5, 30, ms(ago(2)), 121.47, 31.23, locked=False)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, forced, utc_now()))
    found = alerts.reconcile_latches(platform.uow(), utc_now(), 0)
    assert found.alerts_opened == 1
    assert alerts.reconcile_latches(platform.uow(), utc_now(), 0).alerts_opened == 0  # once
    [alert] = alerts.open_alerts(platform.uow(), None)[0]
    assert alert.kind is AlertKind.LATCH_OPEN_WITHOUT_RENTAL and alert.asset_code == f"BK-{lock_id}"


def test_the_reconciling_pass_ends_a_ride_whose_close_was_stored_but_not_applied(platform):
    lock_id = new_lock_id()
    _, rental = riding(platform, lock_id)
    # The close is in the log (e.g. a replayed dead letter's neighbour) but the ride runs on.
    with platform.uow() as uow:
        uow.lock_log.record_event(
            lock_id, 5, 11, "locked", None, {"lon": 121.47, "lat": 31.23}, ago(20)
        )
        uow.commit()
    found = alerts.reconcile_latches(platform.uow(), utc_now(), 0)
    assert found.rides_ended == 1
    ended = state_of(platform, rental)
    assert ended.state is RentalState.ENDED
    assert 29 <= ended.duration_seconds <= 31


def test_a_battery_reading_out_of_range_never_reaches_riders(platform):
    lock_id = new_lock_id()
    riding(platform, lock_id)
    report = Telemetry(
        5, 11, ms(ago(1)), 121.47, 31.23, locked=False, dropped=(("battery_pct", "over 100"),)
    )
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, report, utc_now()))
    with platform.uow() as uow:
        assert uow.locks.get(lock_id).battery_pct is None
        assert dict(uow.lock_log.problems_of(lock_id, 5)[0].dropped) == {"battery_pct": "over 100"}


def test_an_unknown_cmd_id_for_a_rental_failed_otherwise_is_not_adopted(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    reports.handle_event(
        platform.uow(),
        event_reported(
            lock_id,
            Event(5, 9, ms(ago(55)), EventType.CMD_REJECTED, cmd_id=str(rental.unlock_command_id)),
            utc_now(),
        ),
    )
    assert state_of(platform, rental).failure_reason is FailureReason.REJECTED
    stray = Event(5, 10, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(uuid.uuid4()))
    reports.handle_event(platform.uow(), event_reported(lock_id, stray, utc_now()))
    assert state_of(platform, rental).state is RentalState.FAILED


def offered(platform, lock_id):
    nearby = vehicles.nearby(
        platform.uow(), nearby_search(HERE), utc_now(), platform.config.service_policy()
    )
    return f"BK-{lock_id}" in [vehicle.code for vehicle in nearby]


def test_a_bike_whose_unlock_went_unanswered_is_hidden_until_its_lock_reports(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)  # requested a minute ago
    seen = Telemetry(5, 1, ms(ago(120)), 121.47, 31.23, locked=True, battery_pct=90)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, seen, utc_now()))
    time_out(platform, rental)
    assert not offered(platform, lock_id)  # it may have opened, unheard
    # A report from before the command, delivered late, says nothing about now.
    late = Telemetry(5, 2, ms(ago(90)), 121.47, 31.23, locked=True, battery_pct=90)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, late, utc_now()))
    assert not offered(platform, lock_id)
    heartbeat = Telemetry(5, 3, ms(ago(1)), 121.47, 31.23, locked=True, battery_pct=90)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, heartbeat, utc_now()))
    assert offered(platform, lock_id)  # closed after all
