"""What the use cases announce once it is done, for whoever watches: today the metrics of
`rental.observability`, connected by each entry point.

The use cases only say what happened, in their own terms (a frozen dataclass per kind of
news); they know nothing of who listens or how it is measured. Signals are blinker's (the
library Flask's own signals use): sending to nobody costs next to nothing. A listener that
fails is logged and never undoes, nor fails, the use case that announced.
"""

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum

from blinker import NamedSignal, Namespace

log = logging.getLogger(__name__)

_signals = Namespace()

# Sent with an `UnlockSettled` as sender, once the rental's new state is committed.
unlock_settled: NamedSignal = _signals.signal("unlock-settled")
# Sent with a `RebalancingRunEnded` as sender, once the plan is stored ready or failed.
rebalancing_run_ended: NamedSignal = _signals.signal("rebalancing-run-ended")


class UnlockOutcome(StrEnum):
    """How a scan's unlock ended: the lock opened (in time, or after the rider was told it
    timed out), or the rental failed for one of `rental.domain.rentals.FailureReason`."""

    CONFIRMED = "confirmed"
    CONFIRMED_LATE = "confirmed_late"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    LOCK_OFFLINE = "lock_offline"
    LOCK_UNREACHABLE = "lock_unreachable"


@dataclass(frozen=True)
class UnlockSettled:
    """`waited_seconds`: from the scan to the lock's answer arriving (confirmations only)."""

    outcome: UnlockOutcome
    rental_id: uuid.UUID
    command_id: uuid.UUID | None = None
    waited_seconds: float | None = None


@dataclass(frozen=True)
class RebalancingRunEnded:
    """One run of a city's rebalancing, from its start to its plan stored: `state` is the
    plan's (`ready` or `failed`), `trigger` the run's (`nightly`, `operator`, `command`)."""

    city_id: str
    trigger: str
    state: str
    seconds: float


def announce(signal: NamedSignal, news: UnlockSettled | RebalancingRunEnded) -> None:
    """Tell the signal's listeners; their failures are logged, never raised."""
    try:
        signal.send(news)
    except Exception:
        log.exception("a listener of %s failed", signal.name)
