"""lockctl, the lock consumer: turns what locks publish into state changes, and fails
unlocks nobody answered. `python -m lockctl` runs `main()`.

Two broker connections: events and statuses on one, handled by ordered workers, each
lock's in order; telemetry on the other, stored a batch at a time from a bounded queue
(`telemetry_writer`), so that no flood of fixes ever delays an unlock's answer.

Several lockctl processes may run side by side: they share one MQTT v5 shared
subscription (each message goes to one of them), and the database makes every
event count once even when QoS 1 delivers it twice.

lockctl holds the platform's broker account (MQTT_URL), which manages accounts: besides
its own, it makes the lock accounts API workers ask for
(`rental.adapters.locks.provisioning`), so that they need no admin rights on the broker.
"""

import logging
import os
import secrets
import signal
import socket
import threading
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

from rental.adapters.locks.broker_accounts import lockctl_username, managing_accounts
from rental.adapters.locks.commands import MqttLockCommands
from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient
from rental.adapters.locks.protocol import Channel, LockTopic, ProtocolError, subscription
from rental.adapters.locks.provisioning import LockAccountService
from rental.adapters.locks.reports import WireReportDecoder
from rental.adapters.locks.telemetry_subscriber import TelemetrySubscriber
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.errors import Unavailable
from rental.domain.fleet import ServicePolicy
from rental.entrypoints.ordered_workers import OrderedWorkers
from rental.entrypoints.sweeper import Sweeper
from rental.entrypoints.telemetry_writer import (
    QUEUE_CAPACITY,
    RETRY_MAX_WAIT_SECONDS,
    TELEMETRY_ATTEMPTS,
    TELEMETRY_WRITERS,
    Arrival,
    TelemetryLanes,
    TelemetryWriter,
)
from rental.observability import lockctl as metrics
from rental.observability.exposition import serve_metrics
from rental.observability.logs import bound, configure_logging
from rental.observability.unlocks import watch_unlocks
from rental.services import lock_events
from rental.services.dead_letters import acknowledgement_for_refused, store_dead_letter
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import (
    LockEventReported,
    LockReport,
    ReportDecoder,
    ReportRefused,
    ReportSettings,
)
from rental.services.ports import LockCommandError
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SHARE_GROUP = "lockctl"
# Past a command's expiry, how long to wait for an answer still in flight.
ANSWER_GRACE = timedelta(seconds=2)
# Only with persistent sessions (not the default: locks resend what we did not acknowledge).
SESSION_EXPIRY_SECONDS = 3600
# Events and statuses handled side by side; each holds a database connection while it works.
WORKERS = 8


def event_subscriptions(group: str) -> list[tuple[str, int]]:
    """Each report goes to one member of the group; QoS as the protocol sets per channel."""
    return [
        (f"$share/{group}/{subscription(Channel.EVT)}", 1),
        (f"$share/{group}/{subscription(Channel.STATUS)}", 1),
    ]


def telemetry_subscriptions(group: str) -> list[tuple[str, int]]:
    return [(f"$share/{group}/{subscription(Channel.TELEMETRY)}", 0)]


def telemetry_instance(instance: str) -> str:
    """The name under which an instance's telemetry connection has its broker account:
    accounts are bound to one client id, and each connection needs its own."""
    return f"{instance}-telemetry"


def shared_subscriptions(group: str) -> list[tuple[str, int]]:
    """All that lockctl subscribes, over its two connections: evt, telemetry, status."""
    events, telemetry = event_subscriptions(group), telemetry_subscriptions(group)
    return [events[0], *telemetry, events[1]]


class LockReports:
    """The message handler: decode each message into the use cases' command
    (`rental.services.lock_reports`) and apply it (`lock_events.apply`), retry while the
    database is away, keep what can never be processed as a dead letter, and acknowledge
    each stored event to its lock (protocol 1.1, §5.2)."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        settings: ReportSettings,
        acknowledge: Callable[[AcknowledgeEvent], None] = lambda _: None,
        stopping: threading.Event | None = None,
        decoder: ReportDecoder | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._decoder = decoder or WireReportDecoder()
        self._acknowledge = acknowledge
        self._stopping = stopping or threading.Event()
        # Messages this instance received per channel, for monitoring. Note that the
        # broker hands retained statuses to every member of a share group on subscribe.
        self.handled: Counter[str] = Counter()
        self.dead_letters = 0
        self.retries = 0
        self.dropped_telemetry = 0
        # Built once: a Retrying keeps each call's state per thread, so workers share them.
        self._retry_report = self._retrying(telemetry=False)
        self._retry_telemetry = self._retrying(telemetry=True)

    def handle(self, message: Message) -> None:
        """Raises tenacity.RetryError only when stopping with the database away: the message
        is then not acknowledged, and the broker or the lock delivers it again."""
        if not message.payload:
            return  # a retained message being cleared
        received_at = self._clock()
        channel = _channel(message.topic)
        self.handled[channel] += 1
        telemetry = channel == Channel.TELEMETRY.value
        retrying = self._retry_telemetry if telemetry else self._retry_report
        try:
            acknowledgement = retrying(self._process_once, message, received_at)
        except Unavailable:
            self.dropped_telemetry += 1  # only telemetry gives up (after its few tries)
            metrics.DROPPED_TELEMETRY.inc()
            log.warning("dropped telemetry on %s: the database did not answer", message.topic)
            return
        if acknowledgement is not None:
            self._acknowledge(acknowledgement)

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
        metrics.DATABASE_RETRIES.inc()
        if state.attempt_number == 1:
            log.warning("the database did not answer; retrying %s", _describe(state))

    def _process_once(self, message: Message, received_at: datetime) -> AcknowledgeEvent | None:
        try:
            report = self._decoder.decode(message.topic, message.payload, received_at)
            with bound(**_log_fields(report)):
                acknowledgement = lock_events.apply(self._uow, report, self._settings)
            metrics.report_stored(report, self._clock())
            return acknowledgement
        except ReportRefused as refused:
            reason = str(refused)
        except Unavailable:
            raise
        except Exception as error:  # a bug must not lose the message: keep it for replay
            log.exception("processing a message on %s failed", message.topic)
            reason = f"unexpected error: {error!r}"
        store_dead_letter(self._uow(), message.topic, message.payload, reason, received_at)
        self.dead_letters += 1
        metrics.DEAD_LETTERS.inc()
        return acknowledgement_for_refused(
            self._uow(), self._decoder, message.topic, message.payload
        )


def _log_fields(report: LockReport) -> dict[str, str]:
    """Bound to the lines logged while a report is applied: its lock, and for an answer to
    a command the command's id, the one the API logged with the scan's rental."""
    fields = {"lock_id": report.lock_id}
    if isinstance(report, LockEventReported) and report.command_id is not None:
        fields["command_id"] = report.command_id
    return fields


def _channel(topic: str) -> str:
    try:
        return LockTopic.parse(topic).channel.value
    except ProtocolError:
        return "unknown"


def _describe(state: RetryCallState) -> str:
    message = state.args[0] if state.args else None
    return f"a message on {message.topic}" if isinstance(message, Message) else "a message"


class LockController:
    """One lockctl instance: the MQTT consumer plus the sweeper of unanswered unlocks,
    expired reservations, lost items, old reports, and the latch-against-rental pass.

    Telemetry comes in on a connection of its own, as `telemetry_client_id` (by default
    `<client_id>-telemetry`) through `telemetry_broker` (by default `broker`)."""

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
        session_retention: timedelta = timedelta(days=30),
        funnel_retention: timedelta = timedelta(days=90),
        unmet_demand_retention: timedelta = timedelta(days=90),
        telemetry_broker: BrokerAddress | None = None,
        telemetry_client_id: str | None = None,
        telemetry_writers: int = TELEMETRY_WRITERS,
        telemetry_capacity: int = QUEUE_CAPACITY,
    ) -> None:
        self._share_group = share_group
        self._clock = clock
        self._stop = threading.Event()
        settings = ReportSettings(wallet_floor_minor, low_battery_pct)
        self.reports = LockReports(uow, clock, settings, self._acknowledge_to_lock, self._stop)
        # QoS 1 reports are acknowledged only once their transaction committed, so a
        # crash before that makes the broker deliver them again (to a persistent session),
        # and the lock resends every event it was not acknowledged (protocol 1.1).
        self._workers = OrderedWorkers(workers, self.reports.handle, self._acknowledge)
        self.telemetry = TelemetryLanes(telemetry_writers, telemetry_capacity)
        self.telemetry_writers = [
            TelemetryWriter(
                queue, uow, clock, settings, self.reports.handle, busy=self._workers.busy
            )
            for queue in self.telemetry.queues
        ]
        metrics.watch_queue(self._workers.depth, self._telemetry_waiting)
        self._client = MqttClient(
            broker,
            client_id,
            on_message=self._workers.submit,
            clean_start=not persistent_session,
            session_expiry_seconds=SESSION_EXPIRY_SECONDS if persistent_session else 0,
            manual_ack=True,
        )
        # QoS 0 and a clean session: nothing to acknowledge, nothing queued for a dead
        # instance (the broker hands the share group's telemetry to the living ones).
        self._telemetry_client = TelemetrySubscriber(
            telemetry_broker or broker,
            telemetry_client_id or f"{client_id}-telemetry",
            telemetry_subscriptions(share_group),
            self._telemetry_arrived,
        )
        self._lock_commands = MqttLockCommands(lambda: self._client)
        sweeper = Sweeper(
            uow,
            clock,
            answer_grace=answer_grace,
            wallet_floor_minor=wallet_floor_minor,
            lock_log_retention=lock_log_retention,
            session_retention=session_retention,
            funnel_retention=funnel_retention,
            unmet_demand_retention=unmet_demand_retention,
        )
        self._sweeper = threading.Thread(
            target=sweeper.run, args=(self._stop,), name="unlock-sweeper", daemon=True
        )
        self._writers = [
            threading.Thread(
                target=writer.run, args=(self._stop,), name=f"telemetry-writer-{lane}", daemon=True
            )
            for lane, writer in enumerate(self.telemetry_writers)
        ]

    def _acknowledge(self, message: Message) -> None:
        self._client.ack(message)

    def _telemetry_waiting(self) -> int:
        """Fixes queued, and held by writers for a busy lock."""
        return len(self.telemetry) + sum(writer.held for writer in self.telemetry_writers)

    def _telemetry_arrived(self, message: Message) -> None:
        self.telemetry.put(Arrival(message, self._clock()))

    def _acknowledge_to_lock(self, acknowledgement: AcknowledgeEvent) -> None:
        try:
            self._lock_commands.send(acknowledgement)
        except LockCommandError as error:  # the lock resends; the repeat is acknowledged
            lock_id = acknowledgement.lock_id
            log.warning("could not acknowledge an event to lock %s: %s", lock_id, error)

    def start(self) -> None:
        self._workers.start()
        for writer in self._writers:
            writer.start()
        self._client.connect()
        self._client.subscribe(event_subscriptions(self._share_group))
        self._telemetry_client.connect()
        self._sweeper.start()
        log.info("lockctl %s is consuming lock reports", self._client.client_id)

    def stop(self) -> None:
        self._stop.set()
        self._telemetry_client.disconnect()
        self._client.disconnect()
        self._workers.stop()
        for writer in self._writers:  # what is queued is stored, for up to STOP_DRAIN_SECONDS
            writer.join(timeout=5)
        self._sweeper.join(timeout=5)


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
    configure_logging("lockctl")
    config = Config.from_environment()
    if not config.LOCK_KEY_ENCRYPTION_KEYS:
        raise SystemExit(
            "LOCK_KEY_ENCRYPTION_KEYS is not set: lockctl signs acknowledgements with the locks'"
            " keys, sealed with it (scripts/services.sh makes one for the demo in var/secrets)"
        )
    watch_unlocks()  # confirmed, rejected, timed out: settled here
    serve_metrics(config.LOCKCTL_METRICS_PORT)
    platform = Platform(config)
    platform_account = BrokerAddress.from_settings(config.MQTT_URL, config.MQTT_CA_FILE)
    # A stable id per instance: its broker account (and client id) is `lockctl-<instance>`.
    instance = os.environ.get("LOCKCTL_INSTANCE", socket.gethostname())
    # One share group per deployment: the broker splits reports among its members, so never
    # mix deployments (say, staging and production) in one group.
    group = os.environ.get("LOCKCTL_SHARE_GROUP", "lockctl")
    # Clean sessions by default: locks resend every event until it is acknowledged (protocol
    # 1.1), so a broker session that queues for a dead instance only delays them.
    persistent = os.environ.get("LOCKCTL_PERSISTENT_SESSION", "0") != "0"
    # Its client id starts with lockctl-, which no lock id may: no lock can push it off.
    lock_accounts = LockAccountService(platform_account, f"{lockctl_username(instance)}-accounts")
    telemetry = telemetry_instance(instance)
    controller = LockController(
        own_account(platform_account, instance),
        platform.uow,
        utc_now,
        lockctl_username(instance),
        telemetry_broker=own_account(platform_account, telemetry),
        telemetry_client_id=lockctl_username(telemetry),
        persistent_session=persistent,
        share_group=group,
        wallet_floor_minor=config.WALLET_FLOOR_MINOR,
        low_battery_pct=config.LOW_BATTERY_PCT,
        lock_log_retention=timedelta(days=config.LOCK_LOG_RETENTION_DAYS),
        session_retention=config.token_lifetimes().longest_refresh(),
        funnel_retention=timedelta(days=config.FUNNEL_RETENTION_DAYS),
        unmet_demand_retention=timedelta(days=config.UNMET_DEMAND_RETENTION_DAYS),
        telemetry_writers=config.LOCKCTL_TELEMETRY_WRITERS,
    )
    controller.start()
    lock_accounts.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    lock_accounts.stop()
    controller.stop()
