"""The repositories of the riders context, as the use cases need them: Riders, their
sessions (signed-in devices), their credit, and the idempotency keys they send.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from rental.domain.credit import CreditReason
from rental.domain.idempotency import KeyUse
from rental.domain.phone_codes import PhoneCode
from rental.domain.riders import User
from rental.domain.sessions import Session, SessionEnd
from rental.services.read_models import CreditEvent


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...

    def by_phone(self, phone: str) -> User | None: ...

    def get(self, user_id: UUID) -> User | None: ...

    def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...

    def mark_phone_proven(self, user_id: UUID) -> None: ...

    def joined_at(self, user_id: UUID) -> datetime | None:
        """When the account was made; None for no such account."""
        ...


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A refresh token found by its hash: its session, and when it was spent (None: never)."""

    session: Session
    used_at: datetime | None


class SessionRepository(Protocol):
    def add(self, session: Session, refresh_token_hash: bytes) -> None:
        """A new session with its first refresh token."""
        ...

    def by_refresh_token(self, token_hash: bytes) -> PresentedRefreshToken | None:
        """The token's session; the token's row stays locked until the transaction ends,
        so that two uses of one token are seen one after the other."""
        ...

    def rotate(
        self,
        session_id: UUID,
        spent_hash: bytes,
        new_hash: bytes,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        """Spend one refresh token at `at` and give the session a new one, which works until
        `expires_at`."""
        ...

    def end(self, session_id: UUID, at: datetime, because: SessionEnd) -> None:
        """End a session; one already ended keeps its first end."""
        ...

    def end_all_but(self, user_id: UUID, keep: UUID, at: datetime, because: SessionEnd) -> int:
        """End every session of the user but `keep`; returns how many were live."""
        ...

    def is_live(self, session_id: UUID, now: datetime) -> bool:
        """Not ended and not expired: one lookup by primary key (every request makes it)."""
        ...

    def forget_before(self, moment: datetime) -> int:
        """Delete sessions that ended or expired before `moment`, with all their tokens, and
        the spent tokens of live sessions issued before it; returns how many rows went."""
        ...


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


class PhoneCodeRepository(Protocol):
    """The one sign-in code waiting for each phone number (as a keyed hash)."""

    def put(self, code: PhoneCode) -> None:
        """Keep `code` for its phone, replacing any code sent before."""
        ...

    def get(self, phone: str, *, for_update: bool = False) -> PhoneCode | None: ...

    def save(self, code: PhoneCode) -> None:
        """Keep the tries left."""
        ...

    def delete(self, phone: str) -> None: ...
