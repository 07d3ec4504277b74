"""lockctl as Prometheus sees it: reports by channel, how far behind the locks' clocks
they are stored, telemetry fixes (their rate is the fleet's positions per second), dead
letters, and the work waiting in its queues. Served on LOCKCTL_METRICS_PORT."""

from collections.abc import Callable, Sequence
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from rental.services.lock_reports import (
    LockEventReported,
    LockReport,
    PresenceReported,
    TelemetryReported,
)

# Stored within a second when all is well; minutes or hours for what a lock kept in its
# outbox while offline (protocol 1.1 resends), or while the database was away.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)

REPORTS = Counter(
    "lockctl_reports", "Lock reports stored (repeats included), by channel.", ["channel"]
)
REPORT_LAG = Histogram(
    "lockctl_report_lag_seconds",
    "From the lock's clock at a report to the report stored, by channel (evt, telemetry); "
    "reports whose clock was unusable are left out.",
    ["channel"],
    buckets=LAG_BUCKETS,
)
TELEMETRY_FIXES = Counter(
    "lockctl_telemetry_fixes", "Telemetry reports stored with a usable position."
)
DEAD_LETTERS = Counter(
    "lockctl_dead_letters", "Lock messages kept as dead letters: they can never be processed."
)
DROPPED_TELEMETRY = Counter(
    "lockctl_dropped_telemetry",
    "Telemetry given up while the database did not answer (or queued when lockctl stopped).",
)
DATABASE_RETRIES = Counter(
    "lockctl_database_retries", "Reports tried again because the database did not answer."
)
QUEUE_DEPTH = Gauge(
    "lockctl_queue_depth", "Events and statuses received from the broker, waiting for a worker."
)
TELEMETRY_QUEUE_DEPTH = Gauge(
    "lockctl_telemetry_queue_depth",
    "Telemetry received from the broker, waiting to be stored (queued, or held for a busy lock).",
)
TELEMETRY_SHED = Counter(
    "lockctl_telemetry_shed",
    "Telemetry dropped unstored, oldest first, because its queue was full: lockctl stores "
    "fewer fixes a second than the fleet sends.",
)
TELEMETRY_BATCH_SECONDS = Histogram(
    "lockctl_telemetry_batch_seconds",
    "Time to store one batch of telemetry (one transaction).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
FIELDS_DROPPED = Counter(
    "lockctl_report_fields_dropped",
    "Reports stored without some of their fields, which failed their checks (out of range, "
    "not finite, of the wrong type): see the lock's report problems.",
    ["channel"],
)


def report_stored(report: LockReport, stored_at: datetime) -> None:
    """Count a report once its transaction committed; `stored_at` by lockctl's clock."""
    match report:
        case LockEventReported():
            _stored("evt", report.lock_time, stored_at)
            if report.dropped:
                FIELDS_DROPPED.labels("evt").inc()
        case TelemetryReported():
            _stored("telemetry", report.lock_time, stored_at)
            if report.lon is not None and report.lat is not None:
                TELEMETRY_FIXES.inc()
            if report.dropped:
                FIELDS_DROPPED.labels("telemetry").inc()
        case PresenceReported():
            REPORTS.labels("status").inc()


def telemetry_stored(
    handled: int, applied: Sequence[TelemetryReported], stored_at: datetime
) -> None:
    """Count a batch once committed: `handled` reports (repeats included), of which
    `applied` changed something (their lag observed)."""
    REPORTS.labels("telemetry").inc(handled)
    lag = REPORT_LAG.labels("telemetry")
    fixes = dropped = 0
    for report in applied:
        fixes += report.lon is not None
        dropped += bool(report.dropped)
        if report.lock_time is not None:
            lag.observe(max((stored_at - report.lock_time).total_seconds(), 0.0))
    TELEMETRY_FIXES.inc(fixes)
    FIELDS_DROPPED.labels("telemetry").inc(dropped)


def _stored(channel: str, lock_time: datetime | None, stored_at: datetime) -> None:
    REPORTS.labels(channel).inc()
    if lock_time is not None:
        REPORT_LAG.labels(channel).observe(max((stored_at - lock_time).total_seconds(), 0.0))


def watch_queue(depth: Callable[[], int], telemetry_depth: Callable[[], int]) -> None:
    """The queue depths are read from the queues at each scrape."""
    QUEUE_DEPTH.set_function(depth)
    TELEMETRY_QUEUE_DEPTH.set_function(telemetry_depth)
