"""The rider funnel's marks, as the use cases need them (`rental.services.funnel`).

Implemented on PostgreSQL in `rental.adapters.funnel`, in memory in `tests/unit/fakes/`.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from rental.domain.funnel import FunnelMark, Step, StepCount


class FunnelMarks(Protocol):
    def add(self, marks: Sequence[FunnelMark]) -> int:
        """Keep the marks; a repeat of an app's mark (same visit, day, step and reason,
        no rental) is kept once. How many were new."""
        ...

    def follow(self, rental_id: UUID, step: Step, at: datetime, reason: str = "") -> bool:
        """Mark `step` (with `reason`) for the visit whose scan started the rental, in the
        scan's city on its day at `at`; False when no scan of the rental is kept."""
        ...

    def counts(self, city_id: str, first_day: date, last_day: date) -> list[StepCount]:
        """Distinct visits per (step, reason) in the city over the days, both included
        (a mark without a visit counts as its rental's, else as its own)."""
        ...

    def forget_before(self, day: date, batch: int) -> int:
        """Forget up to `batch` marks of days before `day`; how many went."""
        ...
