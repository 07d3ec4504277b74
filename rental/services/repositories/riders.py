"""The repositories of the riders context, as the use cases need them: Riders, their
credit, and the idempotency keys they send.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from typing import Protocol
from uuid import UUID

from rental.domain.credit import CreditReason
from rental.domain.idempotency import KeyUse
from rental.domain.riders import User
from rental.services.read_models import CreditEvent


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...

    def by_phone(self, phone: str) -> User | None: ...

    def get(self, user_id: UUID) -> User | None: ...


class CreditRepository(Protocol):
    def record(self, user_id: uuid.UUID, reason: CreditReason, reference: str) -> int | None:
        """Apply the reason's effect once per reference; returns the new score or None."""
        ...

    def score(self, user_id: uuid.UUID) -> int: ...

    def history(self, user_id: uuid.UUID, limit: int = 50) -> list[CreditEvent]:
        """Newest first."""
        ...


class IdempotencyKeys(Protocol):
    def claim(self, rider_id: UUID, key: str, use: KeyUse) -> KeyUse | None:
        """Record `use` as what `key` is for, in this transaction: None when the key is new,
        else the earlier use (left as it was). A concurrent claim of the same key waits for
        the other transaction, as a unique index does."""
        ...
