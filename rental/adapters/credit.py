"""Credit scores and their history in PostgreSQL."""

import uuid

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import credit_events, users
from rental.domain.credit import CreditReason, score_after
from rental.services.read_models import CreditEvent


class CreditRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def record(self, user_id: uuid.UUID, reason: CreditReason, reference: str) -> int | None:
        """Apply the reason's effect once per reference; returns the new score or None."""
        score = self._c.execute(
            select(users.c.credit_score).where(users.c.id == user_id).with_for_update()
        ).scalar_one()
        new_score = score_after(score, reason)
        inserted = self._c.execute(
            insert(credit_events)
            .values(
                user_id=user_id,
                reason=reason.value,
                delta=new_score - score,
                score_after=new_score,
                reference=reference,
            )
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(credit_events.c.id)
        ).first()
        if inserted is None:
            return None
        self._c.execute(update(users).where(users.c.id == user_id).values(credit_score=new_score))
        return new_score

    def score(self, user_id: uuid.UUID) -> int:
        return int(
            self._c.execute(select(users.c.credit_score).where(users.c.id == user_id)).scalar_one()
        )

    def history(self, user_id: uuid.UUID, limit: int = 50) -> list[CreditEvent]:
        """Newest first."""
        rows = self._c.execute(
            select(
                credit_events.c.reason,
                credit_events.c.delta,
                credit_events.c.score_after,
                credit_events.c.created_at,
            )
            .where(credit_events.c.user_id == user_id)
            .order_by(credit_events.c.created_at.desc(), credit_events.c.id.desc())
            .limit(limit)
        ).mappings()
        return [
            CreditEvent(
                row["created_at"], CreditReason(row["reason"]), row["delta"], row["score_after"]
            )
            for row in rows
        ]
