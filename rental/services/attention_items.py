"""What the operator's list of things to look at holds (`rental.services.attention`)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AttentionKind(StrEnum):
    LATCH_OPEN_WITHOUT_RENTAL = "latch_open_without_rental"
    LOCK_OFFLINE = "lock_offline"
    DEAD_LETTER = "dead_letter"
    STUCK_PAYMENT = "stuck_payment"
    STUCK_REFUND = "stuck_refund"
    LOW_BATTERY = "low_battery"
    MISPLACED_ITEM = "misplaced_item"


ORDER = list(AttentionKind)


@dataclass(frozen=True)
class Attention:
    kind: AttentionKind
    subject: str  # what to look at: an asset's code, a lock id, a dead letter's or order's id
    detail: str
    since: datetime | None  # when it began, as far as the platform knows
    city_id: str | None  # None: not tied to a city (dead letters, payments)
    lon: float | None = None
    lat: float | None = None
