"""The operator's dashboard: how a city's fleet is used, how unlocks go, where bikes stand
for the morning, and what it earned, over the last days on the city's own clock.

Every figure is computed by the database from what the platform keeps (rentals, locks,
zones, the ledger) through `OperationsReadModel`; nothing is sampled or cached here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.services.dashboard_figures import DayFigures, HotspotFigures, HourFigures, UnlockFigures
from rental.services.unit_of_work import UnitOfWork

MAX_DAYS = 90


@dataclass(frozen=True)
class Dashboard:
    city_id: str
    time_zone: str
    currency: str
    hours: list[HourFigures]  # the last 24 hours, oldest first
    days: list[DayFigures]  # the last `days` days, today last
    unlocks: UnlockFigures
    hotspots: list[HotspotFigures]  # fewest available first

    @property
    def revenue_minor(self) -> int:
        return sum(day.revenue_minor for day in self.days)


def dashboard(
    uow: UnitOfWork, city_id: str, days: int, now: datetime, policy: ServicePolicy
) -> Dashboard:
    """The city's figures for the `days` days up to `now` (1-90). Raises NotFound for a
    city the platform does not know."""
    with uow:
        city = uow.cities.get(city_id)
        if city is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        read = uow.operations
        since = now - timedelta(days=days)
        return Dashboard(
            city_id=city.id,
            time_zone=city.time_zone,
            currency=city.currency,
            hours=read.rides_by_hour(city_id, city.time_zone, now),
            days=read.days(city_id, city.time_zone, days, now),
            unlocks=read.unlocks(city_id, since, now),
            hotspots=read.hotspots(city_id, city.time_zone, days, now, policy),
        )
