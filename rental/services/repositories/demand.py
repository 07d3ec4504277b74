"""The repository of unmet demand, as the use cases need it: counting a search that found
nothing, and reading the counts (and where vehicles stand) on the same grid.

Implemented on PostgreSQL in `rental.adapters.unmet_demand`, in memory in
`tests/unit/fakes/demand.py`.
"""

from datetime import datetime
from typing import Protocol

from rental.domain.fleet import ServicePolicy
from rental.domain.unmet_demand import CellCount, UnmetSearch


class UnmetDemand(Protocol):
    def count(self, search: UnmetSearch, reach_m: float) -> str | None:
        """One more search in the cell and hour, for the running city whose center is
        nearest the cell's center within `reach_m` metres; the city counted for, or None
        when no city is that near (nothing is kept)."""
        ...

    def cells(self, city_id: str, since: datetime, until: datetime) -> list[CellCount]:
        """The city's cells with searches that found nothing in [since, until), each with
        their sum, most first."""
        ...

    def vehicle_cells(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[CellCount]:
        """The cells where the city's vehicles riders could take now stand, with how many
        (the platform's one rule of availability, `policy`), most first."""
        ...

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` counts of hours before `cutoff`; how many went."""
        ...
