"""The dashboard's read model in memory: it knows no figures. The figures are SQL over
PostgreSQL and are tested there (tests/integration/test_dashboard.py)."""

from datetime import datetime

from rental.domain.fleet import ServicePolicy
from rental.services.dashboard_figures import DayFigures, HotspotFigures, HourFigures, UnlockFigures
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
