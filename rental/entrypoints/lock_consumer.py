"""lockctl, the lock consumer: turns what locks publish into state changes, and fails
unlocks nobody answered. `python -m lockctl` runs `main()`.

Several lockctl processes may run side by side: they share one MQTT v5 shared
subscription (each message goes to one of them), and the database makes every
event count once even when QoS 1 delivers it twice.
"""

import logging
import os
import queue
import secrets
import signal
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)

from rental.adapters.db import UnitOfWork
from rental.adapters.locks.broker_accounts import lockctl_username, managing_accounts
from rental.adapters.locks.commands import MqttLockChannel
from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient
from rental.adapters.locks.protocol import Channel, LockTopic, ProtocolError, subscription
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.errors import Unavailable
from rental.domain.fleet import ServicePolicy
from rental.services import items
from rental.services.alerts import reconcile_latches
from rental.services.lock_events import EventReceipt, ReportRefused
from rental.services.lock_reports import (
    ReportSettings,
    process,
    receipt_for_refused,
    store_dead_letter,
)
from rental.services.ports import LockChannelError
from rental.services.rentals import fail_unanswered_unlocks
from rental.services.reservations import expire_reservations
from rental.services.retention import forget_old_lock_reports

log = logging.getLogger(__name__)

SHARE_GROUP = "lockctl"
# Past a command's expiry, how long to wait for an answer still in flight.
ANSWER_GRACE = timedelta(seconds=2)
SWEEP_INTERVAL_SECONDS = 0.5
# Latches against rentals every 10 s: an open latch is hidden at once by the scan rules,
# the alert can wait a few seconds.
RECONCILE_SWEEPS = 20
# Items run into their replacement price over days: a look every half minute is plenty.
LOST_ITEM_SWEEPS = 60
# ... and forgets lock reports past their retention once an hour (and at start).
RETENTION_SWEEPS = 7200
# Only with persistent sessions (not the default: locks resend what we did not acknowledge).
SESSION_EXPIRY_SECONDS = 3600
# Reports handled side by side; each holds a database connection while it works.
WORKERS = 8
# Telemetry is QoS 0 and worth little once old: a few tries, then it is dropped (events and
# statuses are retried until the database answers, see LockReports.handle).
TELEMETRY_ATTEMPTS = 3
RETRY_MAX_WAIT_SECONDS = 5.0


def shared_subscriptions(group: str) -> list[tuple[str, int]]:
    """Each report goes to one member of the group; QoS as the protocol sets per channel."""
    return [
        (f"$share/{group}/{subscription(Channel.EVT)}", 1),
        (f"$share/{group}/{subscription(Channel.TELEMETRY)}", 0),
        (f"$share/{group}/{subscription(Channel.STATUS)}", 1),
    ]


class LockReports:
    """The message handler: hand each message to `rental.services.lock_reports.process`,
    retry while the database is away, keep what can never be processed as a dead letter,
    and acknowledge each stored event to its lock (protocol 1.1, §5.2)."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        settings: ReportSettings,
        acknowledge: Callable[[EventReceipt], None] = lambda _: None,
        stopping: threading.Event | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._acknowledge = acknowledge
        self._stopping = stopping or threading.Event()
        # Messages this instance received per channel, for monitoring. Note that the
        # broker hands retained statuses to every member of a share group on subscribe.
        self.handled: Counter[str] = Counter()
        self.dead_letters = 0
        self.retries = 0
        self.dropped_telemetry = 0

    def handle(self, message: Message) -> None:
        """Raises tenacity.RetryError only when stopping with the database away: the message
        is then not acknowledged, and the broker or the lock delivers it again."""
        if not message.payload:
            return  # a retained message being cleared
        received_at = self._clock()
        channel = _channel(message.topic)
        self.handled[channel] += 1
        telemetry = channel == Channel.TELEMETRY.value
        try:
            receipt = self._retrying(telemetry)(self._process_once, message, received_at)
        except Unavailable:
            self.dropped_telemetry += 1  # only telemetry gives up (after its few tries)
            log.warning("dropped telemetry on %s: the database did not answer", message.topic)
            return
        if receipt is not None:
            self._acknowledge(receipt)

    def _retrying(self, telemetry: bool) -> Retrying:
        def give_up(state: RetryCallState) -> bool:
            if telemetry and state.attempt_number >= TELEMETRY_ATTEMPTS:
                return True
            return self._stopping.is_set()

        return Retrying(
            retry=retry_if_exception_type(Unavailable),
            wait=wait_exponential(multiplier=0.1, max=RETRY_MAX_WAIT_SECONDS) + wait_random(0, 0.1),
            stop=give_up,
            before_sleep=self._count_retry,
            reraise=telemetry,
        )

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        if state.attempt_number == 1:
            log.warning("the database did not answer; retrying %s", _describe(state))

    def _process_once(self, message: Message, received_at: datetime) -> EventReceipt | None:
        try:
            return process(self._uow, message.topic, message.payload, received_at, self._settings)
        except ReportRefused as refused:
            reason = str(refused)
        except Unavailable:
            raise
        except Exception as error:  # a bug must not lose the message: keep it for replay
            log.exception("processing a message on %s failed", message.topic)
            reason = f"unexpected error: {error!r}"
        store_dead_letter(self._uow(), message.topic, message.payload, reason, received_at)
        self.dead_letters += 1
        return receipt_for_refused(self._uow(), message.topic, message.payload)


def _channel(topic: str) -> str:
    try:
        return LockTopic.parse(topic).channel.value
    except ProtocolError:
        return "unknown"


def _describe(state: RetryCallState) -> str:
    message = state.args[0] if state.args else None
    return f"a message on {message.topic}" if isinstance(message, Message) else "a message"


class OrderedWorkers:
    """Handles messages on several threads, always those of one lock on the same thread.

    A lock's reports stay in order (its unlock before its lock) while different locks'
    reports are handled side by side. `done` runs after each message that was handled
    (processed or kept as a dead letter), never after one that failed: the broker (or the
    lock, for events) delivers that one again.
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
                log.exception("handling a message on %s failed; not acknowledged", message.topic)
                continue
            self._done(message)


class LockController:
    """One lockctl instance: the MQTT consumer plus the sweeper of unanswered unlocks,
    expired reservations, lost items, old reports, and the latch-against-rental pass."""

    def __init__(
        self,
        broker: BrokerAddress,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        client_id: str,
        *,
        persistent_session: bool = False,
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
        settings = ReportSettings(wallet_floor_minor, low_battery_pct)
        self.reports = LockReports(uow, clock, settings, self._acknowledge_to_lock, self._stop)
        # QoS 1 reports are acknowledged only once their transaction committed, so a
        # crash before that makes the broker deliver them again (to a persistent session),
        # and the lock resends every event it was not acknowledged (protocol 1.1).
        self._workers = OrderedWorkers(workers, self.reports.handle, self._acknowledge)
        self._client = MqttClient(
            broker,
            client_id,
            on_message=self._workers.submit,
            clean_start=not persistent_session,
            session_expiry_seconds=SESSION_EXPIRY_SECONDS if persistent_session else 0,
            manual_ack=True,
        )
        self._lock_channel = MqttLockChannel(lambda: self._client)
        self._sweeper = threading.Thread(
            target=self._sweep_forever, name="unlock-sweeper", daemon=True
        )

    def _acknowledge(self, message: Message) -> None:
        self._client.ack(message)

    def _acknowledge_to_lock(self, receipt: EventReceipt) -> None:
        try:
            self._lock_channel.acknowledge(receipt)
        except LockChannelError as error:  # the lock resends; the repeat is acknowledged
            log.warning("could not acknowledge an event to lock %s: %s", receipt.lock_id, error)

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
                self._sweep(sweeps)
            except Unavailable as error:
                log.warning("sweeping skipped: %s", error)
            except Exception:
                log.exception("sweeping unanswered unlocks and holds failed; retrying")

    def _sweep(self, sweeps: int) -> None:
        failed = fail_unanswered_unlocks(self._uow(), self._clock(), self._answer_grace)
        if failed:
            log.info("unlock timed out for %d rental(s)", len(failed))
        released = expire_reservations(self._uow(), self._clock(), self._wallet_floor)
        if released:
            log.info("released %d expired reservation(s)", released)
        if sweeps % RECONCILE_SWEEPS == 1:
            found = reconcile_latches(self._uow(), self._clock(), self._wallet_floor)
            if found.rides_ended or found.alerts_opened or found.alerts_resolved:
                log.warning("latches against rentals: %s", found)
        if sweeps % LOST_ITEM_SWEEPS == 1:
            lost = items.end_unreturned(self._uow(), self._clock(), self._wallet_floor)
            if lost:
                log.info("%d item(s) never returned were charged as sold", lost)
        if sweeps % RETENTION_SWEEPS == 1:
            forgotten = forget_old_lock_reports(self._uow(), self._clock(), self._retention)
            if forgotten:
                log.info("forgot %d lock report(s) past their retention", forgotten)


def own_account(platform: BrokerAddress, instance: str) -> BrokerAddress:
    """The instance's own broker account, bound to its client id, made or renewed through
    the platform's account with a password fresh for this run. Nothing else can connect
    under lockctl's client id and push it off the broker (locks' accounts are bound to
    their own ids), and a leaked password is good until the next start only."""
    username = lockctl_username(instance)
    password = secrets.token_urlsafe(24)
    with managing_accounts(platform) as accounts:
        accounts.ensure_lockctl_account(username, password)
    log.info("broker account %s renewed", username)
    return platform.with_credentials(username, password)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s lockctl %(levelname)s %(message)s")
    config = Config.from_environment()
    platform = Platform(config)
    # A stable id per instance: its broker account (and client id) is `lockctl-<instance>`.
    instance = os.environ.get("LOCKCTL_INSTANCE", socket.gethostname())
    # One share group per deployment: the broker splits reports among its members, so never
    # mix deployments (say, staging and production) in one group.
    group = os.environ.get("LOCKCTL_SHARE_GROUP", "lockctl")
    # Clean sessions by default: locks resend every event until it is acknowledged (protocol
    # 1.1), so a broker session that queues for a dead instance only delays them.
    persistent = os.environ.get("LOCKCTL_PERSISTENT_SESSION", "0") != "0"
    controller = LockController(
        own_account(BrokerAddress.from_url(config.MQTT_URL), instance),
        platform.uow,
        utc_now,
        lockctl_username(instance),
        persistent_session=persistent,
        share_group=group,
        wallet_floor_minor=config.WALLET_FLOOR_MINOR,
        low_battery_pct=config.LOW_BATTERY_PCT,
        lock_log_retention=timedelta(days=config.LOCK_LOG_RETENTION_DAYS),
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
