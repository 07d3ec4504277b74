"""Idempotency keys: a key names one request of one rider, so a retry of that request
answers what the first did, and the same key on any other request is refused.

The rule follows the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header, section 2.6): a key reused with another
request is the client's error, never a reason to answer the first request's result.
"""

import enum
from dataclasses import dataclass

from rental.domain.errors import Conflict


class Operation(enum.StrEnum):
    """What a key was first used for: one word per retryable request."""

    SCAN = "scan"
    HOLD = "hold"
    TOP_UP = "top_up"
    DEPOSIT = "deposit"
    DEPOSIT_REFUND = "deposit_refund"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True)
class KeyUse:
    """One request, as far as its key is concerned: the operation and the parameters that
    make it that request (an asset code, an amount and currency), as text."""

    operation: Operation
    request: str


class KeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was used for another request; send a fresh key",
            "idempotency_key_reused",
        )


def check_same_request(first: KeyUse, again: KeyUse) -> None:
    """A retry names the same operation with the same parameters. Raises KeyReused."""
    if first != again:
        raise KeyReused()
