"""The operations read model in memory: it knows no dashboard figures and finds nothing to
look at. Both are SQL over PostgreSQL, tested there (tests/integration/test_dashboard.py,
tests/integration/test_attention.py)."""

from collections.abc import Iterator
from datetime import datetime

from rental.domain.fleet import ServicePolicy
from rental.services.attention_items import Attention
from rental.services.dashboard_figures import DayFigures, HotspotFigures, HourFigures, UnlockFigures
from rental.services.repositories.operations import Cell
from tests.unit.fakes.store import Repository


class FakeOperationsReadModel(Repository):
    def rides_by_hour(self, city_id: str, time_zone: str, now: datetime) -> list[HourFigures]:
        return []

    def days(self, city_id: str, time_zone: str, days: int, now: datetime) -> list[DayFigures]:
        return []

    def unlocks(self, city_id: str, since: datetime, until: datetime) -> UnlockFigures:
        return UnlockFigures(0, 0, None, None)

    def hotspots(
        self, city_id: str, time_zone: str, days: int, now: datetime, policy: ServicePolicy
    ) -> list[HotspotFigures]:
        return []

    def devices_needing_attention(
        self, city_id: str, now: datetime, policy: ServicePolicy
    ) -> list[Attention]:
        return []

    def stuck_payments(self, expired_before: datetime, asked_before: datetime) -> list[Attention]:
        return []

    def ride_rows(
        self, city_id: str, since: datetime, until: datetime
    ) -> Iterator[tuple[Cell, ...]]:
        return iter(())

    def posting_rows(self, since: datetime, until: datetime) -> Iterator[tuple[Cell, ...]]:
        return iter(())
