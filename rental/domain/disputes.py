"""A rider contests a charge; an operator refunds it in full, in part, or not at all.

A fare refund goes back to the wallet the fare was paid from (through the ledger,
settling any debt first); from there the rider can ride or have it paid out.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rental.domain.errors import Conflict, InvalidInput
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account


class DisputeState(StrEnum):
    OPEN = "open"
    REFUNDED = "refunded"
    REJECTED = "rejected"


@dataclass
class Dispute:
    id: uuid.UUID
    rental_id: uuid.UUID
    rider_id: uuid.UUID
    reason: str
    state: DisputeState
    refund_minor: int = 0
    note: str | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None

    def resolve(self, refund_minor: int, refundable_minor: int, note: str, at: datetime) -> bool:
        """False when this same resolution was made before (a retried request)."""
        if self.state is not DisputeState.OPEN:
            if refund_minor == self.refund_minor:
                return False
            raise Conflict("this dispute is already resolved otherwise", "dispute_resolved")
        if not 0 <= refund_minor <= refundable_minor:
            raise InvalidInput(
                f"refund_minor must be between 0 and {refundable_minor}", "invalid_refund"
            )
        self.refund_minor = refund_minor
        self.state = DisputeState.REFUNDED if refund_minor else DisputeState.REJECTED
        self.note = note
        self.resolved_at = at
        return True


def checked_reason(reason: object) -> str:
    if not isinstance(reason, str) or not 3 <= len(reason.strip()) <= 1000:
        raise InvalidInput("reason must be 3 to 1000 characters", "invalid_reason")
    return reason.strip()


def fare_refund_postings(dispute: Dispute, currency: str) -> list[Posting]:
    return [
        Posting(AccountRef(AccountKind.PLATFORM_REVENUE, currency), -dispute.refund_minor),
        Posting(
            rider_account(AccountKind.RIDER_WALLET, str(dispute.rider_id), currency),
            dispute.refund_minor,
        ),
    ]
