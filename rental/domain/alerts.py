"""What operators must look at, and lock messages the platform could not process.

Alerts are opened and resolved by the platform itself (the reconciling pass, the lock
event handlers); dead letters wait for an operator to replay them.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class AlertKind(StrEnum):
    # A vehicle's latch reported open while no rental has it (a late unlock the rider did
    # not take, a forced lock): hidden from riders until it is closed.
    LATCH_OPEN_WITHOUT_RENTAL = "latch_open_without_rental"
    # An item pushed into a cabinet of another kind: its rental ended there with the
    # wrong-cabinet fee, and it is out of service until staff move it where it belongs.
    MISPLACED_ITEM = "misplaced_item"


@dataclass(frozen=True)
class Alert:
    id: int
    kind: AlertKind
    lock_id: str
    asset_id: UUID | None
    asset_code: str | None
    city_id: str | None
    detail: str
    opened_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class DeadLetter:
    """A lock message kept with the reason it could not be processed."""

    id: int
    topic: str
    payload: bytes
    reason: str
    received_at: datetime
    replayed_at: datetime | None = None
    replay_outcome: str | None = None
