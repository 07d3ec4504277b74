"""The repositories of the rebalancing context, as the use cases need them: Rebalancing
fleets, plans and their stops.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes.py`.
"""

import uuid
from datetime import date, datetime
from typing import Any, Protocol

from rental.domain.fleet import ServicePolicy


class RebalancingRepository(Protocol):
    def hotspots(self, city_id: str) -> list[dict[str, Any]]:
        """The operator's parking zones, each with a point inside it for trucks to stop."""
        ...

    def parked_bikes(
        self, city_id: str, now: datetime, policy: ServicePolicy
    ) -> list[dict[str, Any]]:
        """Bikes riders could take now, where they are, and the hotspot they stand in."""
        ...

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[dict[str, dict[date, int]], dict[tuple[int, int], dict[date, int]]]:
        """Trips that started in the morning hours (local time) since `since`, per day:
        per hotspot, and per grid cell for those that started outside every hotspot."""
        ...

    def first_trip_day(self, city_id: str) -> date | None: ...

    def timezone(self, city_id: str) -> str | None: ...

    def fleet(self, city_id: str) -> dict[str, Any] | None: ...

    def fleets(self) -> list[dict[str, Any]]: ...

    def save_fleet(self, city_id: str, depot: tuple[float, float], **settings: Any) -> None: ...

    def start_run(self, city_id: str, trigger: str, now: datetime) -> tuple[uuid.UUID, int]:
        """A new plan, running; Conflict while another run for the city is under way. A run
        still `running` long after any search could have ended lost its process (a
        restart): it is marked failed, so that it does not block the city for good."""
        ...

    def finish_run(
        self,
        plan_id: uuid.UUID,
        now: datetime,
        summary: dict[str, Any],
        stops: list[dict[str, Any]],
    ) -> None: ...

    def fail_run(self, plan_id: uuid.UUID, now: datetime, error: str) -> None: ...

    def plan(self, plan_id: uuid.UUID) -> dict[str, Any] | None: ...

    def latest_plan(self, city_id: str, trigger: str | None = None) -> dict[str, Any] | None: ...

    def stops(self, plan_id: uuid.UUID) -> list[dict[str, Any]]: ...

    def stop_for_update(
        self, plan_id: uuid.UUID, truck: int, seq: int
    ) -> dict[str, Any] | None: ...

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        """The stop is done; its bikes are now the ones that really moved."""
        ...
