"""Sessions and their refresh tokens in PostgreSQL (`rental.services.repositories.riders`)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, or_, select, update

from rental.adapters.tables import refresh_tokens, sessions, users
from rental.domain.riders import Role
from rental.domain.sessions import Session, SessionEnd
from rental.services.repositories.riders import PresentedRefreshToken

_SESSION_COLUMNS = (*sessions.c, users.c.role)
# Read on every signed-in request: built once, so SQLAlchemy reuses its compiled form.
_LIVE_SESSION = select(sessions.c.id).where(
    sessions.c.id == bindparam("session_id", type_=sessions.c.id.type),
    sessions.c.ended_at.is_(None),
    sessions.c.expires_at > bindparam("now", type_=sessions.c.expires_at.type),
)


class SessionRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, session: Session, refresh_token_hash: bytes) -> None:
        self._c.execute(
            insert(sessions).values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )
        self._c.execute(
            insert(refresh_tokens).values(
                token_hash=refresh_token_hash, session_id=session.id, issued_at=session.created_at
            )
        )

    def by_refresh_token(self, token_hash: bytes) -> PresentedRefreshToken | None:
        row = (
            self._c.execute(
                select(*_SESSION_COLUMNS, refresh_tokens.c.used_at.label("token_used_at"))
                .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                .join(users, users.c.id == sessions.c.user_id)
                .where(refresh_tokens.c.token_hash == token_hash)
                # The token's row only: a second use of it waits here for the first to end.
                .with_for_update(of=refresh_tokens)
            )
            .mappings()
            .first()
        )
        return PresentedRefreshToken(_session(row), row["token_used_at"]) if row else None

    def rotate(
        self,
        session_id: UUID,
        spent_hash: bytes,
        new_hash: bytes,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        self._c.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == spent_hash)
            .values(used_at=at)
        )
        self._c.execute(
            insert(refresh_tokens).values(token_hash=new_hash, session_id=session_id, issued_at=at)
        )
        self._c.execute(
            update(sessions).where(sessions.c.id == session_id).values(expires_at=expires_at)
        )

    def end(self, session_id: UUID, at: datetime, because: SessionEnd) -> None:
        self._c.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
            .values(ended_at=at, ended_because=because.value)
        )

    def end_all_but(self, user_id: UUID, keep: UUID, at: datetime, because: SessionEnd) -> int:
        result = self._c.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None))
            .where(sessions.c.id != keep, sessions.c.expires_at > at)
            .values(ended_at=at, ended_because=because.value)
        )
        return result.rowcount

    def is_live(self, session_id: UUID, now: datetime) -> bool:
        parameters = {"session_id": session_id, "now": now}
        return self._c.execute(_LIVE_SESSION, parameters).first() is not None

    def forget_before(self, moment: datetime) -> int:
        """Delete sessions that ended or expired before `moment`, with their tokens, and the
        spent tokens of live sessions issued before it; returns how many rows went."""
        gone = self._c.execute(
            delete(sessions).where(
                or_(sessions.c.ended_at < moment, sessions.c.expires_at < moment)
            )
        ).rowcount
        spent = self._c.execute(
            delete(refresh_tokens).where(
                refresh_tokens.c.used_at.is_not(None), refresh_tokens.c.issued_at < moment
            )
        ).rowcount
        return gone + spent


def _session(row: RowMapping) -> Session:
    because = row["ended_because"]
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
        ended_because=SessionEnd(because) if because else None,
    )
