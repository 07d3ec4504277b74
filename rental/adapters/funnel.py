"""The rider funnel's marks in PostgreSQL (`rental.services.repositories.funnel`)."""

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Connection, delete, func, select, text

from rental.adapters.tables import funnel_marks
from rental.domain.funnel import REACHED, FunnelMark, Step, StepCount

# The scan's mark of a rental, copied onto the later step on the scan's city's day at `at`.
_FOLLOW = text(
    """
    INSERT INTO funnel_marks (city_id, day, step, reason, visit_id, rental_id)
    SELECT m.city_id, (CAST(:at AS timestamptz) AT TIME ZONE c.timezone)::date,
           :step, :reason, m.visit_id, m.rental_id
    FROM funnel_marks m JOIN cities c ON c.id = m.city_id
    WHERE m.rental_id = :rental_id AND m.step = 'scan' AND m.reason = ''
    LIMIT 1
    """
)


# Marks in one statement built once: every scan adds its mark, and building an INSERT of
# `values(rows)` anew cost a tenth of the API's CPU in a burst of scans.
_ADD = text(
    """
    INSERT INTO funnel_marks (city_id, day, step, reason, visit_id, rental_id)
    SELECT * FROM unnest(
        CAST(:cities AS text[]), CAST(:days AS date[]), CAST(:steps AS text[]),
        CAST(:reasons AS text[]), CAST(:visits AS uuid[]), CAST(:rentals AS uuid[])
    )
    ON CONFLICT (visit_id, city_id, day, step, reason)
        WHERE visit_id IS NOT NULL AND rental_id IS NULL DO NOTHING
    RETURNING id
    """
)


class FunnelMarks:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, marks: Sequence[FunnelMark]) -> int:
        if not marks:
            return 0
        added = self._c.execute(
            _ADD,
            {
                "cities": [mark.city_id for mark in marks],
                "days": [mark.day for mark in marks],
                "steps": [mark.step.value for mark in marks],
                "reasons": [mark.reason for mark in marks],
                "visits": [mark.visit_id for mark in marks],
                "rentals": [mark.rental_id for mark in marks],
            },
        )
        return len(added.all())

    def follow(self, rental_id: UUID, step: Step, at: datetime, reason: str = REACHED) -> bool:
        params = {"rental_id": rental_id, "step": step.value, "reason": reason, "at": at}
        return self._c.execute(_FOLLOW, params).rowcount > 0

    def counts(self, city_id: str, first_day: date, last_day: date) -> list[StepCount]:
        m = funnel_marks.c
        who = func.coalesce(m.visit_id, m.rental_id, func.gen_random_uuid())
        rows = self._c.execute(
            select(m.step, m.reason, func.count(who.distinct()))
            .where(m.city_id == city_id, m.day.between(first_day, last_day))
            .group_by(m.step, m.reason)
        )
        return [StepCount(Step(step), reason, visits) for step, reason, visits in rows]

    def forget_before(self, day: date, batch: int) -> int:
        m = funnel_marks.c
        oldest = select(m.id).where(m.day < day).limit(batch).scalar_subquery()
        return self._c.execute(delete(funnel_marks).where(m.id.in_(oldest))).rowcount
