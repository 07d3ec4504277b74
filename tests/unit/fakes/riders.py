"""Riders in memory: accounts and their phone numbers, the credit score with its history,
and the idempotency keys they sent (`rental.services.repositories.riders`)."""

import uuid

from rental.domain.credit import INITIAL_SCORE, CreditReason, score_after
from rental.domain.idempotency import KeyUse
from rental.domain.riders import User
from rental.services.read_models import CreditEvent
from tests.unit.fakes.store import (
    CreditEventRow,
    IntegrityViolation,
    Repository,
    UserRow,
    constraint_error,
    copied,
)


class FakeUserRepository(Repository):
    def add(self, user: User) -> None:
        store = self._store
        if user.id in store.users:
            raise IntegrityViolation("users_pkey")
        if any(row.user.phone == user.phone for row in store.users.values()):
            raise constraint_error("users_phone_key")
        store.users[user.id] = UserRow(copied(user), INITIAL_SCORE, store.clock())

    def by_phone(self, phone: str) -> User | None:
        for row in self._store.users.values():
            if row.user.phone == phone:
                return copied(row.user)
        return None

    def get(self, user_id: uuid.UUID) -> User | None:
        row = self._store.users.get(user_id)
        return copied(row.user) if row else None


class FakeCreditRepository(Repository):
    def record(self, user_id: uuid.UUID, reason: CreditReason, reference: str) -> int | None:
        """Apply the reason's effect once per reference; returns the new score or None."""
        store = self._store
        user = self._user(user_id)
        new_score = score_after(user.credit_score, reason)
        if any(event.reference == reference for event in store.credit_events):
            return None
        store.credit_events.append(
            CreditEventRow(
                store.next_id("credit_events"),
                user_id,
                reason.value,
                new_score - user.credit_score,
                new_score,
                reference,
                store.clock(),
            )
        )
        user.credit_score = new_score
        return new_score

    def score(self, user_id: uuid.UUID) -> int:
        return self._user(user_id).credit_score

    def history(self, user_id: uuid.UUID, limit: int = 50) -> list[CreditEvent]:
        """Newest first."""
        events = [event for event in self._store.credit_events if event.user_id == user_id]
        events.sort(key=lambda event: (event.created_at, event.id), reverse=True)
        return [
            CreditEvent(
                event.created_at, CreditReason(event.reason), event.delta, event.score_after
            )
            for event in events[:limit]
        ]

    def _user(self, user_id: uuid.UUID) -> UserRow:
        row = self._store.users.get(user_id)
        if row is None:  # scalar_one() finds no row
            raise LookupError(f"no user {user_id}")
        return row


class FakeIdempotencyKeys(Repository):
    def claim(self, rider_id: uuid.UUID, key: str, use: KeyUse) -> KeyUse | None:
        keys = self._store.idempotency_keys
        earlier = keys.get((rider_id, key))
        if earlier is None:
            keys[(rider_id, key)] = use
        return earlier
