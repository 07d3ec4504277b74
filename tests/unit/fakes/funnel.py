"""The rider funnel's marks in memory, counted as `rental.adapters.funnel` counts them."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from uuid import UUID

from rental.domain.funnel import REACHED, FunnelMark, Step, StepCount, local_day
from tests.unit.fakes.store import Repository


class FakeFunnelMarks(Repository):
    def add(self, marks: Sequence[FunnelMark]) -> int:
        kept = self._store.funnel_marks
        new = 0
        for mark in marks:
            repeat = mark.visit_id is not None and mark.rental_id is None and mark in kept
            if not repeat:
                kept.append(mark)
                new += 1
        return new

    def follow(self, rental_id: UUID, step: Step, at: datetime, reason: str = REACHED) -> bool:
        for mark in self._store.funnel_marks:
            if mark.rental_id == rental_id and mark.step is Step.SCAN and mark.reason == REACHED:
                day = local_day(at, self._store.cities[mark.city_id].time_zone)
                self._store.funnel_marks.append(replace(mark, day=day, step=step, reason=reason))
                return True
        return False

    def counts(self, city_id: str, first_day: date, last_day: date) -> list[StepCount]:
        visits: dict[tuple[Step, str], set[object]] = {}
        for number, mark in enumerate(self._store.funnel_marks):
            if mark.city_id != city_id or not first_day <= mark.day <= last_day:
                continue
            who = mark.visit_id or mark.rental_id or number
            visits.setdefault((mark.step, mark.reason), set()).add(who)
        return [StepCount(step, reason, len(found)) for (step, reason), found in visits.items()]

    def forget_before(self, day: date, batch: int) -> int:
        marks = self._store.funnel_marks
        old = [number for number, mark in enumerate(marks) if mark.day < day][:batch]
        for number in reversed(old):
            del marks[number]
        return len(old)
