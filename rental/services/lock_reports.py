"""What locks report, as the use cases take it: one command per kind of report, and the
port that reads them from a message as it came off the broker.

The commands speak the platform's terms whatever the wire format: times are aware UTC
datetimes, presence is a boolean, the event's kind an enum of our own. A report carries
the lock's clock as the lock sent it (None when unusable) next to the moment it arrived;
the rule that turns the two into the time things happened (`report_rules.report_time`) is
the use case's, not the decoder's. The entry point (`rental.entrypoints.lock_consumer`)
decodes each message with a `ReportDecoder` and hands the command to `lock_events.apply`;
an operator's replay of a dead letter does the same (`rental.services.dead_letters`).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from rental.domain.fleet import ServicePolicy


class ReportRefused(Exception):
    """A report that can never be processed (not the protocol, an unknown lock, a reused
    (boot, seq)): it goes to the dead letters with this reason instead of being retried."""


class LockEventKind(StrEnum):
    """What a lock says happened. The values are the names each event is stored under
    (the protocol's, docs/lock-protocol.md §5)."""

    UNLOCKED = "unlocked"  # the latch opened for command `command_id`
    LOCKED = "locked"  # the rider closed the latch
    COMMAND_REJECTED = "cmd_rejected"  # a command was refused, with `reason`
    FAULT = "fault"  # anything an operator should know, in `reason`
    RELEASED = "released"  # a cabinet let the item in `slot` go, for command `command_id`
    RETURNED = "returned"  # a cabinet took `item` back into `slot`
    RANG = "rang"  # a lock sounded its bell for command `command_id`


# Fields of a report that failed their checks and were left out, with why:
# ((field, reason), ...), as operators see them (docs/lock-protocol.md §3.1).
DroppedFields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LockEventReported:
    """An event from a lock's outbox; `(boot, seq)` identifies it across resends."""

    lock_id: str
    boot: int
    seq: int
    kind: LockEventKind
    lock_time: datetime | None  # the lock's clock; None when its value was unusable
    received_at: datetime
    command_id: str | None = None
    reason: str | None = None
    lon: float | None = None  # both or neither
    lat: float | None = None
    slot: int | None = None
    item: str | None = None  # the item's code, as its tag reads
    dropped: DroppedFields = ()


@dataclass(frozen=True)
class TelemetryReported:
    """A lock's periodic report: its latch, and its fix and battery when it has them."""

    lock_id: str
    boot: int
    seq: int
    lock_time: datetime | None  # the lock's clock; None when its value was unusable
    received_at: datetime
    locked: bool
    lon: float | None = None  # both or neither: None when the lock had no usable fix
    lat: float | None = None
    battery_pct: int | None = None
    accuracy_m: float | None = None
    # When the latch reached its current state, by the lock's clock (protocol 1.1): a
    # close made offline is dated by it, not by the report that carries it.
    latch_time: datetime | None = None
    dropped: DroppedFields = ()


@dataclass(frozen=True)
class PresenceReported:
    """The lock came online, or went offline (its Will, or a planned disconnect)."""

    lock_id: str
    online: bool
    boot: int
    received_at: datetime


LockReport = LockEventReported | TelemetryReported | PresenceReported


@dataclass(frozen=True)
class EventIdentity:
    """Which event of which lock a message is, read even when the rest is unusable."""

    lock_id: str
    boot: int
    seq: int


class ReportDecoder(Protocol):
    """Reads what a lock published (its topic and bytes) into a command."""

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> LockReport:
        """Raises ReportRefused, with why, for a message that is no lock's report."""
        ...

    def event_identity(self, topic: str, payload: bytes) -> EventIdentity | None:
        """The lock and (boot, seq) of an event, as long as those can be read: an event
        refused for another reason is acknowledged all the same. None for anything else."""
        ...


@dataclass(frozen=True)
class ReportSettings:
    """What applying a report depends on besides the report."""

    wallet_floor_minor: int = 0
    low_battery_pct: int = ServicePolicy.low_battery_pct
