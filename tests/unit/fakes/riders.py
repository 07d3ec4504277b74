"""Riders in memory: accounts and their phone numbers, their sessions with the refresh
tokens (as hashes), the credit score with its history, and the idempotency keys they sent
(`rental.services.repositories.riders`)."""

import uuid
from dataclasses import replace
from datetime import datetime

from rental.domain.credit import INITIAL_SCORE, CreditReason, score_after
from rental.domain.idempotency import KeyUse
from rental.domain.phone_codes import PhoneCode
from rental.domain.riders import User
from rental.domain.sessions import Session, SessionEnd
from rental.services.read_models import CreditEvent
from rental.services.repositories.riders import PresentedRefreshToken
from tests.unit.fakes.store import (
    CreditEventRow,
    IntegrityViolation,
    RefreshTokenRow,
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

    def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        row = self._store.users.get(user_id)
        if row is not None:  # an UPDATE of no row changes nothing
            row.user.password_hash = password_hash

    def mark_phone_proven(self, user_id: uuid.UUID) -> None:
        row = self._store.users.get(user_id)
        if row is not None:
            row.user.phone_proven = True

    def joined_at(self, user_id: uuid.UUID) -> datetime | None:
        row = self._store.users.get(user_id)
        return row.created_at if row else None


class FakePhoneCodeRepository(Repository):
    def put(self, code: PhoneCode) -> None:
        self._store.phone_codes[code.phone] = copied(code)

    def get(self, phone: str, *, for_update: bool = False) -> PhoneCode | None:
        code = self._store.phone_codes.get(phone)
        return copied(code) if code else None

    def save(self, code: PhoneCode) -> None:
        if code.phone in self._store.phone_codes:
            self._store.phone_codes[code.phone] = copied(code)

    def delete(self, phone: str) -> None:
        self._store.phone_codes.pop(phone, None)


class FakeSessionRepository(Repository):
    """Row locks are not needed: the use cases run one at a time here."""

    def add(self, session: Session, refresh_token_hash: bytes) -> None:
        store = self._store
        if session.id in store.sessions:
            raise IntegrityViolation("sessions_pkey")
        if session.user_id not in store.users:
            raise IntegrityViolation("sessions_user_id_fkey")
        store.sessions[session.id] = copied(session)
        self._add_token(refresh_token_hash, session.id, session.created_at)

    def by_refresh_token(self, token_hash: bytes) -> PresentedRefreshToken | None:
        token = self._store.refresh_tokens.get(token_hash)
        if token is None:
            return None
        session = self._store.sessions[token.session_id]
        role = self._store.users[session.user_id].user.role  # joined from users, as in SQL
        return PresentedRefreshToken(replace(session, role=role), token.used_at)

    def rotate(
        self,
        session_id: uuid.UUID,
        spent_hash: bytes,
        new_hash: bytes,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        store = self._store
        if spent_hash in store.refresh_tokens:
            store.refresh_tokens[spent_hash].used_at = at
        self._add_token(new_hash, session_id, at)
        if session_id in store.sessions:
            store.sessions[session_id].expires_at = expires_at

    def end(self, session_id: uuid.UUID, at: datetime, because: SessionEnd) -> None:
        session = self._store.sessions.get(session_id)
        if session is not None and session.ended_at is None:
            session.ended_at, session.ended_because = at, because

    def end_all_but(
        self, user_id: uuid.UUID, keep: uuid.UUID, at: datetime, because: SessionEnd
    ) -> int:
        ending = [
            session
            for session in self._store.sessions.values()
            if session.user_id == user_id and session.id != keep
            if session.ended_at is None and session.expires_at > at
        ]
        for session in ending:
            session.ended_at, session.ended_because = at, because
        return len(ending)

    def is_live(self, session_id: uuid.UUID, now: datetime) -> bool:
        session = self._store.sessions.get(session_id)
        return session is not None and session.is_live(now)

    def forget_before(self, moment: datetime) -> int:
        store = self._store
        gone = {
            session.id
            for session in store.sessions.values()
            if (session.ended_at is not None and session.ended_at < moment)
            or session.expires_at < moment
        }
        spent = {
            token_hash
            for token_hash, token in store.refresh_tokens.items()
            if token.used_at is not None and token.issued_at < moment
            if token.session_id not in gone
        }
        for token_hash, token in list(store.refresh_tokens.items()):
            if token_hash in spent or token.session_id in gone:  # ON DELETE CASCADE
                del store.refresh_tokens[token_hash]
        for session_id in gone:
            del store.sessions[session_id]
        return len(gone) + len(spent)  # as PostgreSQL counts: cascaded rows are not counted

    def _add_token(self, token_hash: bytes, session_id: uuid.UUID, at: datetime) -> None:
        if token_hash in self._store.refresh_tokens:
            raise IntegrityViolation("refresh_tokens_pkey")
        if len(token_hash) != 32:
            raise IntegrityViolation("refresh_tokens_sha256")
        self._store.refresh_tokens[token_hash] = RefreshTokenRow(session_id, at)


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
