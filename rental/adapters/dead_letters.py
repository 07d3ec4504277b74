"""Lock messages that could not be processed, kept whole for operators to replay."""

from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import dead_letters
from rental.domain.alerts import DeadLetter


class DeadLetterRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, topic: str, payload: bytes, reason: str, received_at: datetime) -> int:
        """Keep a message; the same message still open (a lock's resend) is kept once."""
        stored = self._c.execute(
            insert(dead_letters)
            .values(topic=topic, payload=payload, reason=reason, received_at=received_at)
            .on_conflict_do_nothing(
                index_elements=[dead_letters.c.topic, func.md5(dead_letters.c.payload)],
                index_where=dead_letters.c.replayed_at.is_(None),
            )
            .returning(dead_letters.c.id)
        ).scalar()
        if stored is not None:
            return int(stored)
        existing = select(dead_letters.c.id).where(
            dead_letters.c.topic == topic,
            dead_letters.c.payload == payload,
            dead_letters.c.replayed_at.is_(None),
        )
        return int(self._c.execute(existing).scalar_one())

    def get(self, letter_id: int, *, for_update: bool = False) -> DeadLetter | None:
        query = select(dead_letters).where(dead_letters.c.id == letter_id)
        if for_update:
            query = query.with_for_update()
        row = self._c.execute(query).mappings().first()
        return _letter(row) if row else None

    def list(
        self, *, open_only: bool, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        query = select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        if open_only:
            query = query.where(dead_letters.c.replayed_at.is_(None))
        if before_id is not None:
            query = query.where(dead_letters.c.id < before_id)
        return [_letter(row) for row in self._c.execute(query).mappings()]

    def count_open(self) -> int:
        query = select(func.count()).where(dead_letters.c.replayed_at.is_(None))
        return int(self._c.execute(query).scalar_one())

    def mark_replayed(self, letter_id: int, at: datetime, outcome: str) -> None:
        self._c.execute(
            update(dead_letters)
            .where(dead_letters.c.id == letter_id)
            .values(replayed_at=at, replay_outcome=outcome)
        )

    def note_failed_replay(self, letter_id: int, reason: str) -> None:
        self._c.execute(
            update(dead_letters)
            .where(dead_letters.c.id == letter_id)
            .values(replay_outcome=f"refused again: {reason}")
        )


def _letter(row: RowMapping) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        topic=row["topic"],
        payload=bytes(row["payload"]),
        reason=row["reason"],
        received_at=row["received_at"],
        replayed_at=row["replayed_at"],
        replay_outcome=row["replay_outcome"],
    )
