"""What lockctl records from lock reports, on the real database and broker."""

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from rental.adapters.locks.mqtt import MqttClient
from rental.adapters.locks.protocol import (
    Channel,
    Event,
    EventType,
    LockTopic,
    Presence,
    Status,
    Telemetry,
    encode,
)
from rental.adapters.locks.reports import event_reported, presence_reported, telemetry_reported
from rental.adapters.tables import lock_events, locks
from rental.bootstrap import utc_now
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.rentals import RentalState
from rental.entrypoints.lock_consumer import LockController
from rental.services import lock_events as reports
from rental.services.lock_reports import ReportRefused
from tests.conftest import new_lock_id
from tests.helpers import ago, eventually, make_bike, ms, started_rental


def test_a_redelivered_lock_event_is_applied_once(platform):
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id)
    opened = Event(1, 1, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    closed = Event(1, 2, ms(ago(1)), EventType.LOCKED, lon=121.48, lat=31.23)
    for event in (opened, opened, closed, closed, closed):
        reports.handle_event(platform.uow(), event_reported(lock_id, event, utc_now()))
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        balance = uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))
    assert ended.state is RentalState.ENDED
    assert balance == 1000 - ended.fare_minor == 850


def test_an_unlock_answer_for_another_command_starts_nothing(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    stray = Event(1, 1, ms(ago(1)), EventType.UNLOCKED, cmd_id=str(uuid.uuid4()))
    reports.handle_event(platform.uow(), event_reported(lock_id, stray, utc_now()))
    with platform.uow() as uow:
        assert uow.rentals.get(rental.id).state is RentalState.UNLOCKING


def test_a_late_will_from_an_earlier_boot_does_not_mark_the_lock_offline(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    reports.handle_status(
        platform.uow(), presence_reported(lock_id, Status(Presence.ONLINE, 5), utc_now())
    )
    reports.handle_status(
        platform.uow(), presence_reported(lock_id, Status(Presence.OFFLINE, 4), utc_now())
    )
    with platform.uow() as uow:
        assert uow.locks.get(lock_id).online
    reports.handle_status(
        platform.uow(), presence_reported(lock_id, Status(Presence.OFFLINE, 5), utc_now())
    )
    with platform.uow() as uow:
        assert not uow.locks.get(lock_id).online


def test_the_trace_is_built_from_telemetry_in_the_locks_time_order(platform):
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    reports.handle_event(
        platform.uow(),
        event_reported(
            lock_id,
            Event(1, 1, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id)),
            utc_now(),
        ),
    )
    points = [(121.470, 31.230), (121.475, 31.232), (121.480, 31.234)]
    # Delivered out of order and one twice (QoS 0 over a shaky network).
    for seq, age in ((4, 20), (2, 40), (3, 30), (3, 30)):
        lon, lat = points[seq - 2]
        fix = Telemetry(1, seq, ms(ago(age)), lon, lat, locked=False, battery_pct=90)
        reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, fix, utc_now()))
    closing = Event(1, 5, ms(ago(1)), EventType.LOCKED, lon=121.480, lat=31.234)
    reports.handle_event(platform.uow(), event_reported(lock_id, closing, utc_now()))
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        geometry = uow.rentals.trace_geojson(rental.id)
    assert '"coordinates":[[121.47,31.23],[121.475,31.232],[121.48,31.234]]' in geometry
    assert 1000 < ended.distance_m < 1200  # about 1.1 km on the spheroid


def test_two_lockctl_instances_share_the_work_without_double_processing(
    platform, broker, broker_accounts, lock_ids
):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    broker_accounts.create_lock_account(lock_id, "pw")
    lock_ids.append(lock_id)
    group = f"test-{uuid.uuid4().hex[:8]}"
    controllers = [
        LockController(
            broker,
            platform.uow,
            utc_now,
            f"lockctl-test-{n}-{group}",
            persistent_session=False,
            share_group=group,
        )
        for n in range(2)
    ]
    for controller in controllers:
        controller.start()
    lock = MqttClient(broker.with_credentials(lock_id, "pw"), lock_id)
    lock.connect()
    try:
        for seq in range(1, 41):
            event = Event(1, seq, ms(utc_now()), EventType.FAULT, reason="tilt")
            lock.publish(str(LockTopic(lock_id, Channel.EVT)), encode(event), qos=1)

        def all_recorded() -> bool:
            with platform.uow() as uow:
                count = uow.connection.execute(
                    select(func.count())
                    .select_from(lock_events)
                    .where(lock_events.c.lock_id == lock_id)
                ).scalar()
            return count == 40

        def handled() -> list[int]:
            return [controller.reports.handled[Channel.EVT] for controller in controllers]

        eventually(lambda: sum(handled()) >= 40, what="40 events handled")
        time.sleep(0.3)  # a second copy of any event would arrive by now
        assert sum(handled()) == 40, handled()  # each message went to exactly one instance
        assert all(handled()), handled()  # and both instances took part
        assert all_recorded()
    finally:
        lock.disconnect()
        for controller in controllers:
            controller.stop()


def test_a_lock_reporting_itself_locked_ends_a_trip_whose_locked_event_was_lost(platform):
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id)
    opened = Event(1, 1, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    reports.handle_event(platform.uow(), event_reported(lock_id, opened, utc_now()))
    # A report sent before the latch opened, delivered late, must not end the trip.
    early = Telemetry(1, 2, ms(ago(55)), 121.47, 31.23, locked=True, battery_pct=90)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, early, utc_now()))
    with platform.uow() as uow:
        assert uow.rentals.get(rental.id).state is RentalState.ACTIVE

    parked = Telemetry(1, 9, ms(ago(5)), 121.48, 31.235, locked=True, battery_pct=88)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, parked, utc_now()))
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        balance = uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))
    assert ended.state is RentalState.ENDED
    assert 40 <= ended.duration_seconds <= 50
    assert balance == 1000 - 150


def test_reports_from_an_unknown_lock_change_nothing(platform):
    stranger = new_lock_id()
    fix = Telemetry(1, 1, ms(ago(1)), 121.47, 31.23, locked=True)
    reports.handle_telemetry(platform.uow(), telemetry_reported(stranger, fix, utc_now()))
    event = Event(1, 2, ms(ago(1)), EventType.LOCKED, lon=121.47, lat=31.23)
    with pytest.raises(ReportRefused, match="unknown lock"):  # kept as a dead letter
        reports.handle_event(platform.uow(), event_reported(stranger, event, utc_now()))
    with platform.uow() as uow:
        assert uow.locks.get(stranger) is None
        assert uow.lock_log.fixes_between(stranger, ago(60), utc_now()) == []


def test_an_event_keeps_when_and_where_its_lock_was_last_heard_from(platform):
    # The latch, the time heard from and the position are kept by one update: each part
    # must still hold on its own (a late event never moves last_seen_at back, an event
    # without a position keeps the one known, an older report never changes the latch).
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    with platform.uow() as uow:
        uow.locks.record_seen(lock_id, ago(120), lon=121.4700, lat=31.2300)
        uow.commit()
    heard = utc_now()
    opened = Event(1, 2, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    reports.handle_event(platform.uow(), event_reported(lock_id, opened, heard))
    with platform.uow() as uow:
        lock = uow.locks.get(lock_id)
    assert lock.locked is False and lock.last_seen_at == heard
    assert (lock.lon, lock.lat) == pytest.approx((121.4700, 31.2300))

    closed = Event(1, 3, ms(ago(1)), EventType.LOCKED, lon=121.4811, lat=31.2322)
    late = heard - timedelta(seconds=30)
    reports.handle_event(platform.uow(), event_reported(lock_id, closed, late))
    with platform.uow() as uow:
        lock = uow.locks.get(lock_id)
    assert lock.locked is True and lock.last_seen_at == heard
    assert (lock.lon, lock.lat) == pytest.approx((121.4811, 31.2322))

    older = Event(1, 1, ms(ago(60)), EventType.UNLOCKED, cmd_id=str(uuid.uuid4()))
    reports.handle_event(platform.uow(), event_reported(lock_id, older, utc_now()))
    with platform.uow() as uow:
        lock = uow.locks.get(lock_id)
    assert lock.locked is True and lock.last_seen_at > heard


def test_an_unlock_applied_after_a_fix_saying_locked_ends_its_ride_at_that_fix(platform):
    # The unlock is then not the lock's newest latch report, so it looks for the close.
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id)
    closed_at = ago(30)
    fix = Telemetry(1, 3, ms(closed_at), 121.4811, 31.2322, locked=True)
    reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, fix, utc_now()))
    opened = Event(1, 2, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    reports.handle_event(platform.uow(), event_reported(lock_id, opened, utc_now()))
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
    assert ended.state is RentalState.ENDED
    assert ended.ended_at == closed_at.replace(microsecond=closed_at.microsecond // 1000 * 1000)


def test_the_latch_update_tells_whether_its_report_is_the_locks_newest(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    with platform.uow() as uow:
        assert uow.locks.record_latch(lock_id, False, 1, 5, utc_now()) is True
        assert uow.locks.record_latch(lock_id, True, 1, 4, utc_now()) is False  # late
        assert uow.locks.record_latch(lock_id, True, 2, 1, utc_now()) is True  # rebooted
        assert uow.locks.record_latch("no-such-lock", True, 1, 1, utc_now()) is False
        uow.commit()


def test_a_latch_of_unknown_seq_reads_as_seq_0_as_telemetry_reads_it(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    with platform.uow() as uow:
        uow.connection.execute(
            update(locks).where(locks.c.id == lock_id).values(latch_boot=1, latch_seq=None)
        )
        assert uow.locks.record_latch(lock_id, False, 1, 5, utc_now()) is True
        assert uow.locks.latch_records({lock_id})[lock_id].latch == (1, 5)
        uow.commit()


def test_a_lock_read_carries_its_newest_latch_report(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    with platform.uow() as uow:
        assert uow.locks.get(lock_id).latch_report is None
        uow.locks.record_latch(lock_id, True, 3, 9, utc_now())
        assert uow.locks.get(lock_id).latch_report == (3, 9)
        uow.commit()
