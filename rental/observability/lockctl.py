"""lockctl as Prometheus sees it: reports by channel, how far behind the locks' clocks
they are stored, telemetry fixes (their rate is the fleet's positions per second), dead
letters, and the work waiting in its queues. Served on LOCKCTL_METRICS_PORT."""

from collections.abc import Callable
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
    "lockctl_dropped_telemetry", "Telemetry given up while the database did not answer."
)
DATABASE_RETRIES = Counter(
    "lockctl_database_retries", "Reports tried again because the database did not answer."
)
QUEUE_DEPTH = Gauge(
    "lockctl_queue_depth", "Messages received from the broker and waiting for a worker."
)


def report_stored(report: LockReport, stored_at: datetime) -> None:
    """Count a report once its transaction committed; `stored_at` by lockctl's clock."""
    match report:
        case LockEventReported():
            _stored("evt", report.lock_time, stored_at)
        case TelemetryReported():
            _stored("telemetry", report.lock_time, stored_at)
            if report.lon is not None and report.lat is not None:
                TELEMETRY_FIXES.inc()
        case PresenceReported():
            REPORTS.labels("status").inc()


def _stored(channel: str, lock_time: datetime | None, stored_at: datetime) -> None:
    REPORTS.labels(channel).inc()
    if lock_time is not None:
        REPORT_LAG.labels(channel).observe(max((stored_at - lock_time).total_seconds(), 0.0))


def watch_queue(depth: Callable[[], int]) -> None:
    """The queue depth is read from the workers' queues at each scrape."""
    QUEUE_DEPTH.set_function(depth)
