"""Turns what locks publish into state changes, and fails unlocks nobody answered.

Several lockctl processes may run side by side: they share one MQTT v5 shared
subscription (each message goes to one of them), and the database makes every
event count once even when QoS 1 delivers it twice.
"""

import logging
import queue
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from lockctl.mqtt import BrokerAddress, Message, MqttClient
from lockctl.protocol import (
    Channel,
    LockTopic,
    ProtocolError,
    decode_event,
    decode_status,
    decode_telemetry,
    subscription,
)
from rental.adapters.db import UnitOfWork
from rental.domain.fleet import ServicePolicy
from rental.services import items, lock_events
from rental.services.rentals import fail_unanswered_unlocks
from rental.services.reservations import expire_reservations
from rental.services.retention import forget_old_lock_reports

log = logging.getLogger(__name__)

SHARE_GROUP = "lockctl"
# Past a command's expiry, how long to wait for an answer still in flight.
ANSWER_GRACE = timedelta(seconds=2)
SWEEP_INTERVAL_SECONDS = 0.5
# Items run into their replacement price over days: a look every half minute is plenty.
LOST_ITEM_SWEEPS = 60
# ... and forgets lock reports past their retention once an hour (and at start).
RETENTION_SWEEPS = 7200
# Keep queued events for a lockctl that restarts within this time.
SESSION_EXPIRY_SECONDS = 3600
# Reports handled side by side; each holds a database connection while it works.
WORKERS = 8


def shared_subscriptions(group: str) -> list[tuple[str, int]]:
    """Each report goes to one member of the group; QoS as the protocol sets per channel."""
    return [
        (f"$share/{group}/{subscription(Channel.EVT)}", 1),
        (f"$share/{group}/{subscription(Channel.TELEMETRY)}", 0),
        (f"$share/{group}/{subscription(Channel.STATUS)}", 1),
    ]


class LockReports:
    """The message handler: decode, then hand to the matching use case."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        wallet_floor_minor: int = 0,
        low_battery_pct: int = ServicePolicy.low_battery_pct,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._wallet_floor = wallet_floor_minor
        self._low_battery_pct = low_battery_pct
        # Messages this instance received per channel, for monitoring. Note that the
        # broker hands retained statuses to every member of a share group on subscribe.
        self.handled: Counter[Channel] = Counter()

    def handle(self, message: Message) -> None:
        if not message.payload:
            return  # a retained message being cleared
        try:
            topic = LockTopic.parse(message.topic)
            self.handled[topic.channel] += 1
            match topic.channel:
                case Channel.EVT:
                    event = decode_event(message.payload)
                    lock_events.handle_event(
                        self._uow(), topic.lock_id, event, self._clock(), self._wallet_floor
                    )
                case Channel.TELEMETRY:
                    report = decode_telemetry(message.payload)
                    lock_events.handle_telemetry(
                        self._uow(),
                        topic.lock_id,
                        report,
                        self._clock(),
                        self._wallet_floor,
                        self._low_battery_pct,
                    )
                case Channel.STATUS:
                    status = decode_status(message.payload)
                    lock_events.handle_status(self._uow(), topic.lock_id, status, self._clock())
        except ProtocolError as error:
            log.warning("dropped a message on %s: %s", message.topic, error)


class OrderedWorkers:
    """Handles messages on several threads, always those of one lock on the same thread.

    A lock's reports stay in order (its unlock before its lock) while different locks'
    reports are handled side by side. `done` runs after each message, successful or not.
    """

    def __init__(
        self, count: int, handle: Callable[[Message], None], done: Callable[[Message], None]
    ) -> None:
        self._queues: list[queue.SimpleQueue[Message | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._handle = handle
        self._done = done
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"lockctl-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for work in self._queues:
            work.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def submit(self, message: Message) -> None:
        # The lock id is the third topic level; a stable hash keeps one lock on one thread.
        key = (
            zlib.crc32(message.topic.split("/", 3)[2].encode())
            if message.topic.count("/") >= 2
            else 0
        )
        self._queues[key % len(self._queues)].put(message)

    def _work(self, work: "queue.SimpleQueue[Message | None]") -> None:
        while (message := work.get()) is not None:
            try:
                self._handle(message)
            except Exception:
                log.exception("handling a message on %s failed", message.topic)
            finally:
                self._done(message)


class LockController:
    """One lockctl instance: the MQTT consumer plus the sweeper of unanswered unlocks and
    expired reservations."""

    def __init__(
        self,
        broker: BrokerAddress,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        client_id: str,
        *,
        persistent_session: bool = True,
        share_group: str = SHARE_GROUP,
        answer_grace: timedelta = ANSWER_GRACE,
        workers: int = WORKERS,
        wallet_floor_minor: int = 0,
        low_battery_pct: int = ServicePolicy.low_battery_pct,
        lock_log_retention: timedelta = timedelta(days=90),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._share_group = share_group
        self._answer_grace = answer_grace
        self._wallet_floor = wallet_floor_minor
        self._stop = threading.Event()
        self._retention = lock_log_retention
        self.reports = LockReports(uow, clock, wallet_floor_minor, low_battery_pct)
        # QoS 1 reports are acknowledged only once their transaction committed, so a
        # crash before that makes the broker deliver them again.
        self._workers = OrderedWorkers(workers, self.reports.handle, self._acknowledge)
        self._client = MqttClient(
            broker,
            client_id,
            on_message=self._workers.submit,
            clean_start=not persistent_session,
            session_expiry_seconds=SESSION_EXPIRY_SECONDS if persistent_session else 0,
            manual_ack=True,
        )
        self._sweeper = threading.Thread(
            target=self._sweep_forever, name="unlock-sweeper", daemon=True
        )

    def _acknowledge(self, message: Message) -> None:
        self._client.ack(message)

    def start(self) -> None:
        self._workers.start()
        self._client.connect()
        self._client.subscribe(shared_subscriptions(self._share_group))
        self._sweeper.start()
        log.info("lockctl %s is consuming lock reports", self._client.client_id)

    def stop(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._workers.stop()
        self._sweeper.join(timeout=5)

    def _sweep_forever(self) -> None:
        sweeps = 0
        while not self._stop.wait(SWEEP_INTERVAL_SECONDS):
            sweeps += 1
            try:
                failed = fail_unanswered_unlocks(self._uow(), self._clock(), self._answer_grace)
                if failed:
                    log.info("unlock timed out for %d rental(s)", len(failed))
                released = expire_reservations(self._uow(), self._clock(), self._wallet_floor)
                if released:
                    log.info("released %d expired reservation(s)", released)
                if sweeps % LOST_ITEM_SWEEPS == 1:
                    lost = items.end_unreturned(self._uow(), self._clock(), self._wallet_floor)
                    if lost:
                        log.info("%d item(s) never returned were charged as sold", lost)
                if sweeps % RETENTION_SWEEPS == 1:
                    forgotten = forget_old_lock_reports(self._uow(), self._clock(), self._retention)
                    if forgotten:
                        log.info("forgot %d lock report(s) past their retention", forgotten)
            except Exception:
                log.exception("sweeping unanswered unlocks and holds failed; retrying")
