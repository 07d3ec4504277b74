"""Scan to unlock, as Prometheus sees it: how long riders wait for the lock to open, and
how each unlock ended. Fed by the use cases' `unlock_settled` signal in whichever process
settles the unlock: the API (lock offline, broker unreachable) and lockctl (confirmed,
rejected, timed out), so a dashboard sums both."""

from prometheus_client import Counter, Histogram

from rental.services.signals import UnlockOutcome, UnlockSettled, unlock_settled

# The lock answers within a second on a good network (docs/lock-protocol.md); the unlock
# times out after UNLOCK_TIMEOUT_SECONDS (10 s by default); a late answer can follow.
SCAN_TO_UNLOCK_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)

SCAN_TO_UNLOCK = Histogram(
    "rental_scan_to_unlock_seconds",
    "From a rider's scan to the lock's confirmation arriving, confirmed unlocks only.",
    buckets=SCAN_TO_UNLOCK_BUCKETS,
)
UNLOCK_OUTCOMES = Counter(
    "rental_unlock_outcomes",
    "Unlocks by how they ended: confirmed, confirmed_late, rejected, timeout, "
    "lock_offline, lock_unreachable.",
    ["outcome"],
)


def record_unlock(news: UnlockSettled) -> None:
    UNLOCK_OUTCOMES.labels(news.outcome.value).inc()
    if news.outcome is UnlockOutcome.CONFIRMED and news.waited_seconds is not None:
        SCAN_TO_UNLOCK.observe(news.waited_seconds)


def watch_unlocks() -> None:
    """Count every unlock this process settles from now on (connecting twice is harmless:
    blinker keeps one connection per receiver)."""
    unlock_settled.connect(record_unlock, weak=False)
