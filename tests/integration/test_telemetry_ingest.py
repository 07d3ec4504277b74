"""Telemetry stored in batches (`rental.services.telemetry`, lockctl's telemetry writer) on
the real database and broker: each lock's order, repeats, unusable fields and reused
pairs as for one report; an unlock's answer never waits behind a telemetry flood; and
fixes kept in day partitions, made ahead and forgotten whole."""

import random
import threading
import time
import uuid
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, text

from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient
from rental.adapters.locks.protocol import Channel, Event, EventType, LockTopic, Telemetry, encode
from rental.adapters.locks.reports import event_reported, telemetry_reported
from rental.adapters.tables import dead_letters, lock_positions, lock_report_problems
from rental.bootstrap import utc_now
from rental.domain.rentals import RentalState
from rental.entrypoints.lock_consumer import LockController
from rental.entrypoints.telemetry_writer import (
    DEFER_SECONDS,
    Arrival,
    TelemetryLanes,
    TelemetryQueue,
    TelemetryWriter,
)
from rental.services import lock_events, retention
from rental.services.commands.rides import RequestUnlock
from rental.services.lock_reports import ReportSettings
from rental.services.rentals import Unlocking, request_unlock
from rental.services.telemetry import ingest_telemetry
from tests.conftest import new_lock_id
from tests.helpers import ago, eventually, make_bike, make_user, ms, started_rental
from tests.unit.fakes import RecordingLockCommands

HOME = (121.47, 31.23)


def fix(lock_id, seq, at, battery=80, where=HOME, boot=1):
    report = Telemetry(boot, seq, ms(at), where[0], where[1], True, battery, 5.0)
    return telemetry_reported(lock_id, report, at + timedelta(milliseconds=50))


def stored_seqs(platform, lock_id) -> list[int]:
    with platform.engine.connect() as connection:
        return list(
            connection.execute(
                select(lock_positions.c.seq)
                .where(lock_positions.c.lock_id == lock_id)
                .order_by(lock_positions.c.seq)
            ).scalars()
        )


def test_a_batch_keeps_each_locks_order_and_stores_repeats_once(platform):
    first, second = new_lock_id(), new_lock_id()
    for lock_id in (first, second):
        make_bike(platform, lock_id)
    start = utc_now() - timedelta(minutes=5)
    reports = [
        fix(lock_id, seq, start + timedelta(seconds=seq), battery=90 - seq, where=(121 + seq, 31))
        for lock_id in (first, second)
        for seq in range(1, 9)
    ]
    shuffled = reports + reports[:4]  # four repeats, in the same batch
    random.Random(7).shuffle(shuffled)
    outcome = ingest_telemetry(platform.uow(), shuffled[:10])
    again = ingest_telemetry(platform.uow(), shuffled[10:] + shuffled[:3])  # and across
    assert len(outcome.applied) + len(again.applied) == 16
    assert outcome.repeats + again.repeats == 4 + 3
    for lock_id in (first, second):
        assert stored_seqs(platform, lock_id) == list(range(1, 9))
        with platform.uow() as uow:
            lock = uow.locks.get(lock_id)
        # The row shows the newest report by the lock's order, whatever the arrival order.
        assert (lock.lon, lock.lat, lock.battery_pct) == (129.0, 31.0, 82)


def test_a_fix_dated_by_its_arrival_is_stored_once_though_its_repeat_arrives_later(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    undated = Telemetry(1, 1, None, *HOME, True, 80, 5.0)  # its ts was unusable
    for arrival in (utc_now(), utc_now() + timedelta(seconds=3)):
        ingest_telemetry(platform.uow(), [telemetry_reported(lock_id, undated, arrival)])
    assert stored_seqs(platform, lock_id) == [1]


def test_unusable_fields_are_dropped_and_unreadable_reports_become_dead_letters(platform):
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    now = utc_now()
    reused = Event(1, 6, ms(now), EventType.FAULT, reason="tilt")
    lock_events.handle_event(platform.uow(), event_reported(lock_id, reused, now))
    topic = str(LockTopic(lock_id, Channel.TELEMETRY))
    t = ms(now)
    payloads = [
        f'{{"v":1,"boot":1,"seq":1,"ts":{t},"lon":121.47,"lat":31.23,"locked":true}}',
        f'{{"v":1,"boot":1,"seq":2,"ts":{t},"lon":121.47,"lat":91.5,"locked":true}}',
        f'{{"v":1,"boot":1,"seq":3,"ts":{t},"lon":NaN,"lat":31.23,"locked":true}}',
        f'{{"v":1,"boot":1,"seq":4,"ts":{t},"lon":121.47,"lat":31.23,"locked":true,'
        '"battery_pct":"full"}',
        '{"v":1,"boot":1,"seq":"five","locked":true}',  # no seq to go by: unreadable
        f'{{"v":1,"boot":1,"seq":6,"ts":{t},"lon":121.47,"lat":31.23,"locked":true}}',
    ]
    queue = TelemetryQueue()
    writer = TelemetryWriter(queue, platform.uow, utc_now, ReportSettings(), lambda _: None)
    writer.write([Arrival(Message(topic, payload.encode()), now) for payload in payloads])

    assert stored_seqs(platform, lock_id) == [1, 4]  # 2 and 3 lost their position
    with platform.engine.connect() as connection:
        problems = dict(
            connection.execute(
                select(lock_report_problems.c.seq, lock_report_problems.c.dropped).where(
                    lock_report_problems.c.lock_id == lock_id
                )
            ).all()
        )
        letters = connection.execute(
            select(dead_letters.c.reason).where(dead_letters.c.topic == topic)
        ).scalars()
        reasons = sorted(letters)
    assert set(problems) == {2, 3, 4}
    assert "battery_pct" in problems[4] and "lat" in problems[2] and "lon" in problems[3]
    assert len(reasons) == 2
    assert reasons[0].startswith("(boot 1, seq 6) was used by an event")
    assert "seq" in reasons[1]


def test_a_busy_locks_fixes_wait_for_its_event_but_never_longer_than_the_bound(platform):
    """A lock with an event in hand has its fixes held for a later batch (the batch would
    hold its row against the event); after DEFER_SECONDS they are stored all the same, and
    no more than half a batch is ever held."""
    busy, free, stuck = new_lock_id(), new_lock_id(), new_lock_id()
    for lock_id in (busy, free, stuck):
        make_bike(platform, lock_id)
    now = utc_now()

    def arrival(lock_id: str, seq: int) -> Arrival:
        report = Telemetry(1, seq, ms(now), *HOME, True, 90, 5.0)
        return Arrival(Message(str(LockTopic(lock_id, Channel.TELEMETRY)), encode(report)), now)

    clock = [100.0]  # the writer's monotonic clock, in seconds
    in_hand = {busy, stuck}
    writer = TelemetryWriter(
        TelemetryQueue(),
        platform.uow,
        utc_now,
        ReportSettings(),
        lambda _: None,
        most=8,
        busy=in_hand.__contains__,
        monotonic=lambda: clock[0],
    )
    writer.write([arrival(busy, 1), arrival(free, 1), arrival(busy, 2), arrival(stuck, 1)])
    assert stored_seqs(platform, busy) == [] and stored_seqs(platform, stuck) == []
    assert stored_seqs(platform, free) == [1]
    assert writer.held == 3

    clock[0] += DEFER_SECONDS / 2
    in_hand.discard(busy)  # its event applied: the next batch stores its fixes, first
    writer.write([arrival(busy, 3), arrival(stuck, 2)])  # stuck's second held behind its first
    assert stored_seqs(platform, busy) == [1, 2, 3]
    assert stored_seqs(platform, stuck) == [] and writer.held == 2

    clock[0] += DEFER_SECONDS / 2  # held long enough: stored though its lock is still busy
    writer.write([])
    assert stored_seqs(platform, stuck) == [1, 2] and writer.held == 0

    writer.write([arrival(stuck, n) for n in range(3, 8)])  # more than half a batch to hold
    assert stored_seqs(platform, stuck) == [1, 2, 3, 4, 5, 6, 7] and writer.held == 0


def latch_opened_meanwhile(platform, lock_id: str, at) -> tuple[bool, threading.Thread]:
    """The lock's latch reported open as (boot 1, seq 7), as its `unlocked` event records
    it, on a thread: whether that was still waiting 3 s later, and the thread."""

    def record() -> None:
        with platform.uow() as uow:
            uow.locks.record_latch(lock_id, False, 1, 7, at)
            uow.commit()

    event = threading.Thread(target=record)
    event.start()
    event.join(timeout=3)
    return event.is_alive(), event


def test_a_batch_takes_its_locks_rows_only_once_its_fixes_are_stored(platform):
    """An event of a lock (an unlock's answer) changes the lock's row while a batch with
    the lock's fix is still storing fixes, without waiting for the batch: the batch takes
    the rows after that, and applies its fix to the row as the event left it."""
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    now = utc_now()
    with platform.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE lock_positions IN SHARE MODE"))  # inserts wait
        batch = threading.Thread(
            target=ingest_telemetry, args=(platform.uow(), [fix(lock_id, 5, now)])
        )
        batch.start()
        eventually(lambda: waiting_for(platform, "lock_positions"), what="the batch storing fixes")
        waited, event = latch_opened_meanwhile(platform, lock_id, now)
        blocker.rollback()  # the fixes go in
        batch.join(timeout=10)
        event.join(timeout=10)
    assert not waited, "the event waited for the batch's hold on the lock's row"
    assert stored_seqs(platform, lock_id) == [5]
    with platform.uow() as uow:
        lock = uow.locks.get(lock_id)
    assert lock is not None and lock.latch_report == (1, 7)  # the fix is older
    assert lock.locked is False


def test_a_ride_ended_by_a_fix_is_billed_without_holding_the_batchs_other_rows(platform):
    """A fix that ends a ride is applied in a transaction of its own after the batch's:
    while the ride's fare waits (for the ledger, held here), an event of another lock of
    the same batch goes through, and the ride ends once the ledger is free."""
    closing, parked = new_lock_id(), new_lock_id()
    make_bike(platform, parked)
    _, rental, _ = started_rental(platform, closing)
    opened = Event(5, 10, ms(ago(50)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    lock_events.handle_event(platform.uow(), event_reported(closing, opened, utc_now()))
    now = utc_now()
    batch = [fix(closing, 11, now, boot=5), fix(parked, 5, now)]
    with platform.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE ledger_transactions IN SHARE MODE"))  # fares wait
        ingest = threading.Thread(target=ingest_telemetry, args=(platform.uow(), batch))
        ingest.start()
        eventually(lambda: waiting_for(platform, "ledger_transactions"), what="the fare")
        waited, event = latch_opened_meanwhile(platform, parked, now)
        blocker.rollback()
        ingest.join(timeout=10)
        event.join(timeout=10)
    assert not waited, "the event waited for the ride's billing"
    assert stored_seqs(platform, parked) == [5] and stored_seqs(platform, closing) == [11]
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
    assert ended is not None and ended.state is RentalState.ENDED


def stored_twice_at_once(platform, first, second) -> list[BaseException]:
    """Two batches held at their fixes' insert, then let go together; what they raised."""
    raised: list[BaseException] = []

    def store(reports) -> None:
        try:
            ingest_telemetry(platform.uow(), reports)
        except Exception as error:
            raised.append(error)

    with platform.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE lock_positions IN SHARE MODE"))
        batches = [threading.Thread(target=store, args=(r,)) for r in (first, second)]
        for batch in batches:
            batch.start()
        eventually(lambda: waiting_pids(platform) >= 2, what="both batches waiting")
        blocker.rollback()
        for batch in batches:
            batch.join(timeout=20)
    return raised


def waiting_pids(platform) -> int:
    with platform.engine.connect() as connection:
        query = text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        return int(connection.execute(query).scalar() or 0)


def test_two_batches_storing_the_same_fixes_in_another_order_do_not_deadlock(platform):
    """Fixes go in one order whatever the batch's (a lock's repeat may reach two lockctl
    instances): neither batch waits for the other's fix while holding one it waits for."""
    a, b = sorted([new_lock_id(), new_lock_id()])
    for lock_id in (a, b):
        make_bike(platform, lock_id)
    now = utc_now()
    for _ in range(5):
        raised = stored_twice_at_once(
            platform, [fix(a, 1, now), fix(b, 1, now)], [fix(b, 1, now), fix(a, 1, now)]
        )
        assert not raised, [repr(error.__cause__ or error) for error in raised]
        now += timedelta(seconds=1)


def test_a_fix_dated_by_its_arrival_in_two_batches_at_once_is_stored_once(platform):
    """Such a fix has no key of its own (its time is its arrival's): the batches storing
    fixes of the same lock dated so take turns."""
    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    undated = Telemetry(1, 1, None, *HOME, True, 80, 5.0)
    now = utc_now()
    first = [telemetry_reported(lock_id, undated, now)]
    second = [telemetry_reported(lock_id, undated, now + timedelta(seconds=2))]
    assert stored_twice_at_once(platform, first, second) == []
    assert stored_seqs(platform, lock_id) == [1]


def waiting_for(platform, table: str) -> bool:
    with platform.engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE NOT granted AND relation = CAST(:t AS regclass)"
                ),
                {"t": table},
            ).scalar()
        )


def test_lockctls_telemetry_writers_hold_the_fixes_of_a_lock_its_workers_have_in_hand():
    controller = LockController(
        BrokerAddress("127.0.0.1", 1),
        lambda: None,
        utc_now,
        "lockctl-wiring",  # not started
    )
    lock_id = new_lock_id()
    controller._workers.submit(Message(str(LockTopic(lock_id, Channel.EVT)), b"{}"))
    assert all(writer.busy(lock_id) for writer in controller.telemetry_writers)
    assert not any(writer.busy(new_lock_id()) for writer in controller.telemetry_writers)


def test_two_writers_keep_each_locks_order_and_store_repeats_once(platform):
    """lockctl's lanes: a lock's fixes keep to one writer; both writers store at once."""
    lock_ids = [new_lock_id() for _ in range(12)]
    for lock_id in lock_ids:
        make_bike(platform, lock_id)
    lanes = TelemetryLanes(2, capacity=10_000)
    writers = [
        TelemetryWriter(queue, platform.uow, utc_now, ReportSettings(), lambda _: None, most=50)
        for queue in lanes.queues
    ]
    start = utc_now() - timedelta(minutes=5)
    arrivals = []
    for seq in range(1, 41):  # the locks' fixes interleaved, as they reach lockctl
        for number, lock_id in enumerate(lock_ids):
            at = start + timedelta(seconds=seq)
            report = Telemetry(1, seq, ms(at), 121 + seq / 1000, 31 + number / 1000, True, 90, 5.0)
            message = Message(str(LockTopic(lock_id, Channel.TELEMETRY)), encode(report))
            arrivals += [Arrival(message, at)] * (2 if seq % 7 == 0 else 1)  # some twice
    for arrival in arrivals:
        lanes.put(arrival)
    assert all(len(queue) > 0 for queue in lanes.queues)  # both lanes have work

    stop = threading.Event()
    threads = [threading.Thread(target=writer.run, args=(stop,)) for writer in writers]
    for thread in threads:
        thread.start()
    eventually(lambda: len(lanes) == 0, timeout=30, what="both queues drained")
    stop.set()
    for thread in threads:
        thread.join(timeout=10)

    for number, lock_id in enumerate(lock_ids):
        assert stored_seqs(platform, lock_id) == list(range(1, 41))  # each once
        with platform.uow() as uow:
            lock = uow.locks.get(lock_id)
            assert lock is not None  # at its last fix
            assert (lock.lon, lock.lat) == pytest.approx((121.04, 31 + number / 1000))


def test_a_full_telemetry_queue_never_delays_an_unlock_answer(
    platform, broker, broker_accounts, lock_ids
):
    lock_id = new_lock_id()
    rider = make_user(platform, credit_minor=1000)
    make_bike(platform, lock_id)
    broker_accounts.create_lock_account(lock_id, "pw")
    lock_ids.append(lock_id)
    group = f"test-{uuid.uuid4().hex[:8]}"
    controller = LockController(
        broker,
        platform.uow,
        utc_now,
        f"lockctl-test-{group}",
        share_group=group,
        telemetry_capacity=200,
    )
    stuck = threading.Event()  # the database as slow as it gets for telemetry
    for writer in controller.telemetry_writers:
        writer.write = lambda batch, hold=True: stuck.wait(30)  # type: ignore[method-assign]
    controller.start()
    acks: list[Message] = []
    lock = MqttClient(broker.with_credentials(lock_id, "pw"), lock_id, on_message=acks.append)
    lock.connect()
    lock.subscribe([(str(LockTopic(lock_id, Channel.ACK)), 1)])
    try:
        telemetry = str(LockTopic(lock_id, Channel.TELEMETRY))
        for seq in range(1, 2001):
            report = Telemetry(1, seq, ms(utc_now()), *HOME, False, 80, 5.0)
            lock.publish(telemetry, encode(report), qos=0)
        eventually(lambda: controller.telemetry.shed > 0, what="the telemetry queue to be full")

        rental = request_unlock(
            platform.uow(),
            RecordingLockCommands(),
            RequestUnlock(rider.id, f"BK-{lock_id}", uuid.uuid4().hex),
            utc_now(),
            Unlocking(timedelta(seconds=30)),
        )
        opened = Event(
            1, 5000, ms(utc_now()), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id)
        )
        sent = time.monotonic()
        lock.publish(str(LockTopic(lock_id, Channel.EVT)), encode(opened), qos=1)

        def active() -> bool:
            with platform.uow() as uow:
                return uow.rentals.get(rental.id).state is RentalState.ACTIVE

        eventually(active, timeout=3, what="the unlock to be applied")
        eventually(lambda: bool(acks), timeout=3, what="the lock to get its acknowledgement")
        assert time.monotonic() - sent < 3
        assert len(controller.telemetry) <= 200  # bounded, shedding the oldest
    finally:
        stuck.set()
        lock.disconnect()
        controller.stop()


def partitions(platform) -> set[str]:
    with platform.engine.connect() as connection:
        return set(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = CAST('lock_positions' AS regclass)"
                )
            ).scalars()
        )


def test_days_of_fixes_are_made_room_for_ahead_and_forgotten_whole(platform):
    now = utc_now()
    far = now + timedelta(days=20)
    made = retention.prepare_fix_days(platform.uow(), far, days_ahead=2)
    names = {f"lock_positions_p{(far + timedelta(days=n)):%Y%m%d}" for n in range(3)}
    assert made == 3 and names <= partitions(platform)
    assert retention.prepare_fix_days(platform.uow(), far, days_ahead=2) == 0

    lock_id = new_lock_id()
    make_bike(platform, lock_id)
    old_day = (now - timedelta(days=40)).astimezone(UTC)
    retention.prepare_fix_days(platform.uow(), old_day, days_ahead=0)
    old_partition = f"lock_positions_p{old_day:%Y%m%d}"
    stray_at = now - timedelta(days=400)  # a clock far behind: no day of its own
    recent_stray = now - timedelta(days=29)  # no day of its own either, but recent
    ingest_telemetry(
        platform.uow(),
        [fix(lock_id, 1, old_day), fix(lock_id, 2, stray_at), fix(lock_id, 3, recent_stray)],
    )
    assert stored_seqs(platform, lock_id) == [1, 2, 3]

    retention.forget_old_lock_reports(platform.uow(), now, timedelta(days=30))
    assert old_partition not in partitions(platform)  # dropped whole, not emptied
    assert "lock_positions_default" in partitions(platform)
    assert stored_seqs(platform, lock_id) == [3]  # the old stray deleted, the recent kept
