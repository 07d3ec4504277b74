"""lockctl's telemetry path: fixes arrive on a broker connection of their own, wait in
bounded queues, and writers store them a batch at a time (`rental.services.telemetry`).
Each lock's fixes keep to one lane (a queue and its writer, chosen by the lock's topic):
two writers never hold the same lock's row, and one decodes while the other waits for
PostgreSQL.

Events (unlock answers, closes) and presence keep lockctl's other connection, its
ordered workers and their database connections: however much telemetry comes in, an
unlock's answer never waits behind it, neither at the broker (each connection has its
own queue there) nor in lockctl.

The queue drops its oldest fix when full, and counts it (`lockctl_telemetry_shed_total`).
Telemetry is QoS 0 and worth little once old: each fix is superseded by the lock's next
one, a few seconds later while it rides. Dropping the oldest keeps what the platform acts
on (where a bike is now, whether it reports itself locked) and bounds the lag at the
queue's length over the rate stored; dropping the newest would keep storing ever older
fixes while the current ones are thrown away. Either way a trip's trace loses points in
the middle, not its end. The broker drops the newest on its side (its
`max_queued_messages`) when lockctl stops reading altogether.
"""

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from rental.adapters.locks.mqtt import Message
from rental.adapters.locks.reports import WireReportDecoder
from rental.domain.errors import Unavailable
from rental.observability import lockctl as metrics
from rental.services.dead_letters import DeadLetterIn, store_dead_letters
from rental.services.lock_reports import (
    ReportDecoder,
    ReportRefused,
    ReportSettings,
    TelemetryReported,
)
from rental.services.telemetry import TelemetryIngested, ingest_telemetry
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# About a second of fixes at the rate one lockctl stores (some 20,000/s on 2 cores), some
# 10 MB, over all lanes: beyond that, a fix would be stored too late to be worth its place.
QUEUE_CAPACITY = 20_000
# Writers (lanes) of one lockctl: the second overlaps decoding with the first's wait for
# PostgreSQL (docs/performance.md: 13,800 fixes/s stored of 20,000 offered, 12,300 with one).
TELEMETRY_WRITERS = 2
# A batch gathers what came in during this window (or since the previous batch began):
# long enough for hundreds of fixes per transaction at a city's rate, short next to
# the 5 s between two fixes of a riding lock.
BATCH_WINDOW_SECONDS = 0.025
# A bound on one transaction: its statements stay quick, the rows it holds few.
MAX_BATCH = 2_000
# Telemetry is worth little once old: a batch gets a few tries while the database is
# away, then it is dropped (events and statuses are retried until it answers).
TELEMETRY_ATTEMPTS = 3
RETRY_MAX_WAIT_SECONDS = 5.0
# On stopping, what is queued is stored for up to this long, then dropped.
STOP_DRAIN_SECONDS = 2.0
# A lock's fixes wait for its event being applied (an unlock's answer, a close) rather
# than hold its row against it, for this long at most (from when the writer first held
# them, by the monotonic clock).
DEFER_SECONDS = 1.0


class Arrival(NamedTuple):
    """A telemetry message, and when it reached lockctl. (A tuple: one is made per fix,
    and a frozen dataclass costs five times as much to make.)"""

    message: Message
    received_at: datetime


class TelemetryQueue:
    """Telemetry waiting for the writer: at most `capacity` messages, the oldest dropped
    (and counted in `shed`) to make room for a new one."""

    def __init__(self, capacity: int = QUEUE_CAPACITY) -> None:
        self._items: deque[Arrival] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self.shed = 0

    def put(self, arrival: Arrival) -> None:
        with self._lock:
            if len(self._items) >= self._capacity:
                self._items.popleft()
                self.shed += 1
                metrics.TELEMETRY_SHED.inc()
            self._items.append(arrival)

    def take(self, most: int) -> list[Arrival]:
        """Up to `most` messages, oldest first; none when it is empty."""
        with self._lock:
            return [self._items.popleft() for _ in range(min(most, len(self._items)))]

    def __len__(self) -> int:
        return len(self._items)


class TelemetryLanes:
    """`count` queues sharing `capacity`, each for its writer: a lock's telemetry always
    goes to the same one (by a checksum of its topic, which names the lock)."""

    def __init__(self, count: int = TELEMETRY_WRITERS, capacity: int = QUEUE_CAPACITY) -> None:
        if count < 1:
            raise ValueError("telemetry needs at least one writer")
        self.queues = [TelemetryQueue(max(1, capacity // count)) for _ in range(count)]

    def put(self, arrival: Arrival) -> None:
        lane = zlib.crc32(arrival.message.topic.encode()) % len(self.queues)
        self.queues[lane].put(arrival)

    @property
    def shed(self) -> int:
        return sum(queue.shed for queue in self.queues)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.queues)


class TelemetryWriter:
    """Stores the queue's telemetry, a batch per transaction, on one thread: a lock's
    fixes are stored in the order they arrived. A batch that fails for any reason but the
    database is handed to `one_by_one` message by message (lockctl's handler of a single
    report, which keeps what it cannot process as a dead letter).

    A batch holds its locks' rows until it commits, and an event of one of them (handled
    on lockctl's workers) would wait for the whole batch, which may itself wait for
    another event: in an unlock burst, lock events waited 20 to 27 ms each on average, and
    most of PostgreSQL's waiting was theirs. So the fixes of a lock for which `busy(lock_id)`
    (an event or status of it is queued or being applied) are held, decoded, for a later
    batch: until the lock is no longer busy, for up to DEFER_SECONDS (by the monotonic
    clock; a lock busy for longer has its fixes stored about once a second). Fixes of a
    lock that arrive while some are held are held behind them, in order. At most half a
    batch (`most`) is held, and `run` takes from the queue only what fits beside it: with
    more to hold, nothing is. `busy` knows this process's messages only: with several
    lockctl instances a lock's event and its fixes may be taken by different ones, which
    then wait for each other's rows as before."""

    def __init__(
        self,
        queue: TelemetryQueue,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        settings: ReportSettings,
        one_by_one: Callable[[Message], None],
        decoder: ReportDecoder | None = None,
        *,
        window: float = BATCH_WINDOW_SECONDS,
        most: int = MAX_BATCH,
        busy: Callable[[str], bool] = lambda _lock_id: False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self.busy = busy
        self._monotonic = monotonic
        self._held: list[tuple[Arrival, TelemetryReported]] = []
        # Busy locks whose fixes are held, and since when (the monotonic clock).
        self._holding_since: dict[str, float] = {}
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._one_by_one = one_by_one
        self._decoder = decoder or WireReportDecoder()
        self._window = window
        self._most = most
        self.dropped = 0  # given up while the database was away, or on stopping
        self._retrying = Retrying(
            retry=retry_if_exception_type(Unavailable),
            wait=wait_exponential(multiplier=0.1, max=RETRY_MAX_WAIT_SECONDS) + wait_random(0, 0.1),
            stop=stop_after_attempt(TELEMETRY_ATTEMPTS),
            reraise=True,
        )

    def run(self, stop: threading.Event) -> None:
        """Store batches until `stop` is set, then what is queued for up to
        STOP_DRAIN_SECONDS; the rest is dropped (QoS 0: a restart must not wait on it)."""
        drain_until: float | None = None
        while True:
            began = time.monotonic()
            if stop.is_set() and drain_until is None:
                drain_until = began + STOP_DRAIN_SECONDS
            if drain_until is not None and began > drain_until:
                self._drop(self._queue.take(len(self._queue)), "lockctl was stopping")
                self._drop([arrival for arrival, _ in self._held], "lockctl was stopping")
                return
            room = self._most - len(self._held)
            batch = self._queue.take(room)
            if batch or self._held:
                self.write(batch, hold=not stop.is_set())
            elif stop.is_set():
                return
            if len(batch) < room:
                stop.wait(max(0.0, self._window - (time.monotonic() - began)))

    def _drop(self, batch: list[Arrival], why: str) -> None:
        if batch:
            self.dropped += len(batch)
            metrics.DROPPED_TELEMETRY.inc(len(batch))
            log.warning("dropped %d telemetry reports: %s", len(batch), why)

    @property
    def held(self) -> int:
        """Fixes held for a busy lock (see the class)."""
        return len(self._held)

    def write(self, batch: list[Arrival], *, hold: bool = True) -> None:
        """Store one batch, after the fixes held before it; a message that can never be
        processed becomes a dead letter. `hold`: the fixes of busy locks wait (see the
        class); when stopping, nothing does."""
        arrivals, reports, letters = self._decode(batch)
        if self._held:
            arrivals = [arrival for arrival, _ in self._held] + arrivals
            reports = [report for _, report in self._held] + reports
        arrivals, reports = self._not_held(arrivals, reports, hold)
        if not reports:
            self._keep(letters)
            return
        try:
            outcome = self._retrying(self._ingest, reports)
        except Unavailable:
            self._drop(arrivals, "the database did not answer")
            return
        except Exception:  # a bug must not lose the batch: each report is tried alone
            log.exception("storing a batch of %d telemetry reports failed", len(reports))
            for arrival in arrivals:
                self._one_by_one(arrival.message)
            return
        for index, reason in outcome.refused.items():
            letters.append(_letter(arrivals[index], reason))
        metrics.telemetry_stored(
            len(reports) - len(outcome.refused), outcome.applied, self._clock()
        )
        self._keep(letters)

    def _not_held(
        self, arrivals: list[Arrival], reports: list[TelemetryReported], hold: bool
    ) -> tuple[list[Arrival], list[TelemetryReported]]:
        """The arrivals and reports to store now, in order; those of busy locks held for
        less than DEFER_SECONDS are held (all of a lock's, or none; see the class)."""
        self._held = []
        now = self._monotonic()
        # Asked once a lock, not once a fix: each question takes the workers' lock.
        locks = {report.lock_id for report in reports} if hold else set()
        busy = {lock_id for lock_id in locks if self.busy(lock_id)}
        since = {lock_id: self._holding_since.get(lock_id, now) for lock_id in busy}
        waiting = {lock_id for lock_id, held_at in since.items() if now - held_at < DEFER_SECONDS}
        if waiting and sum(report.lock_id in waiting for report in reports) > self._most // 2:
            waiting = set()
        self._holding_since = {lock_id: since[lock_id] for lock_id in waiting}
        if not waiting:
            return arrivals, reports
        now_arrivals, now_reports = [], []
        for arrival, report in zip(arrivals, reports, strict=True):
            if report.lock_id in waiting:
                self._held.append((arrival, report))
            else:
                now_arrivals.append(arrival)
                now_reports.append(report)
        return now_arrivals, now_reports

    def _ingest(self, reports: list[TelemetryReported]) -> TelemetryIngested:
        settings = self._settings
        began = time.perf_counter()
        outcome = ingest_telemetry(
            self._uow(), reports, settings.wallet_floor_minor, settings.low_battery_pct
        )
        metrics.TELEMETRY_BATCH_SECONDS.observe(time.perf_counter() - began)
        return outcome

    def _decode(
        self, batch: list[Arrival]
    ) -> tuple[list[Arrival], list[TelemetryReported], list[DeadLetterIn]]:
        arrivals, reports, letters = [], [], []
        for arrival in batch:
            message = arrival.message
            if not message.payload:
                continue  # a retained message being cleared
            try:
                report = self._decoder.decode(message.topic, message.payload, arrival.received_at)
            except ReportRefused as refused:
                letters.append(_letter(arrival, str(refused)))
                continue
            if not isinstance(report, TelemetryReported):  # only telemetry is subscribed here
                letters.append(_letter(arrival, "not telemetry"))
                continue
            arrivals.append(arrival)
            reports.append(report)
        return arrivals, reports, letters

    def _keep(self, letters: list[DeadLetterIn]) -> None:
        if not letters:
            return
        try:
            store_dead_letters(self._uow(), letters)
        except Unavailable:
            log.warning("%d telemetry dead letters lost: the database did not answer", len(letters))
            return
        metrics.DEAD_LETTERS.inc(len(letters))


def _letter(arrival: Arrival, reason: str) -> DeadLetterIn:
    message = arrival.message
    return DeadLetterIn(message.topic, message.payload, reason, arrival.received_at)
