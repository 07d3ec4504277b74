"""Unmet demand: nearby searches that found no vehicle are counted by coarse cell and hour
(`rental.domain.unmet_demand`), and operators read them for a city and days against where
its vehicles stand now, on the same grid.

Counting is a side path of the rider's search: it must never fail it nor hold it up. It
runs only when the search found nothing, off the request (`rental.services.unmet_counter`),
as one upsert with a short statement timeout, and any failure is logged and forgotten.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.domain.unmet_demand import CITY_REACH_M, CellCount, DayRange, UnmetSearch
from rental.services.commands.assets import SearchNearby
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def record_unmet_search(uow: UnitOfWork, search: SearchNearby, now: datetime) -> str | None:
    """Count a search that answered no vehicle in its cell and hour: the city counted for,
    or None when it was not counted (no city near, or a failure, logged). Never raises."""
    unmet = UnmetSearch.at(search.lon, search.lat, now)
    try:
        with uow:
            city_id = uow.unmet_demand.count(unmet, CITY_REACH_M)
            uow.commit()
    except Exception as failure:  # the rider's search answers regardless
        log.warning("an unmet search was not counted: %s", failure)
        return None
    return city_id


@dataclass(frozen=True)
class DemandMap:
    """A city's unmet searches over days, and its vehicles riders could take now."""

    city_id: str
    time_zone: str
    days: DayRange
    searches: list[CellCount]  # most first
    vehicles: list[CellCount]  # most first

    @property
    def total_searches(self) -> int:
        return sum(cell.count for cell in self.searches)


@dataclass(frozen=True)
class ReadDemandMap:
    """A city's demand map over its calendar days (both included); a missing last day is
    the city's today, a missing first day the week up to the last."""

    city_id: str
    first_day: date | None = None
    last_day: date | None = None


def demand_map(
    uow: UnitOfWork, query: ReadDemandMap, now: datetime, policy: ServicePolicy
) -> DemandMap:
    """Raises NotFound `city_not_found`, InvalidInput `invalid_days` (first after last,
    more than `MAX_DAYS` days)."""
    city_id = query.city_id
    with uow:
        time_zone = uow.cities.timezone_of(city_id)
        if time_zone is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        today = now.astimezone(ZoneInfo(time_zone)).date()
        days = DayRange.ending(query.first_day, query.last_day, today)
        since, until = days.instants(time_zone)
        searches = uow.unmet_demand.cells(city_id, since, until)
        vehicles = uow.unmet_demand.vehicle_cells(city_id, now, policy)
    return DemandMap(city_id, time_zone, days, searches, vehicles)
