"""Unmet demand: where riders looked for a vehicle and found none.

A nearby search that answers no vehicle is counted, and nothing else of it is kept: not
who searched, not where exactly, not when to the minute. Its position is snapped to a
grid cell of `CELL_DEGREES` (about 140 m north-south, and 140 m east-west at 0°, 85 m at
52° north), its time to the UTC hour, and the count of that (city, cell, hour) goes up by
one. The grid is half the rebalancing's (`rebalancing.state.CELL_DEGREES`), so that two by
two of its cells make one of the rebalancing's.
"""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rental.domain.errors import InvalidInput

# Fine enough to show a street corner on the operator's map, coarse enough that a count
# stands for a block and not for a doorstep.
CELL_DEGREES = 0.00125
# A search belongs to the running city whose center is nearest, within this distance;
# farther from every city, it is not counted (nobody can be served there).
CITY_REACH_M = 50_000
# The longest window the operator's map reads (the retention is longer, by default).
MAX_DAYS = 92

Cell = tuple[int, int]


def cell_of(lon: float, lat: float) -> Cell:
    """The grid cell (column, row) holding the WGS 84 point."""
    return (math.floor(lon / CELL_DEGREES), math.floor(lat / CELL_DEGREES))


def cell_center(cell: Cell) -> tuple[float, float]:
    """The (lon, lat) of the cell's center: all that is stored of a search's position."""
    return ((cell[0] + 0.5) * CELL_DEGREES, (cell[1] + 0.5) * CELL_DEGREES)


def hour_of(moment: datetime) -> datetime:
    """The UTC hour `moment` (aware) falls in: all that is stored of a search's time."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class UnmetSearch:
    """One search that found nothing, coarsened: what gets counted."""

    cell: Cell
    hour: datetime  # UTC, on the hour

    @classmethod
    def at(cls, lon: float, lat: float, moment: datetime) -> "UnmetSearch":
        return cls(cell_of(lon, lat), hour_of(moment))


@dataclass(frozen=True)
class DayRange:
    """Calendar days of a city, both ends included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise InvalidInput("first_day must not be after last_day", "invalid_days", "first_day")
        if (self.last - self.first).days + 1 > MAX_DAYS:
            raise InvalidInput(f"a range has at most {MAX_DAYS} days", "invalid_days", "last_day")

    @classmethod
    def ending(cls, first: date | None, last: date | None, today: date) -> "DayRange":
        """The days asked for; a missing end is today, a missing start the week up to the
        end. Raises InvalidInput `invalid_days`."""
        last = last if last is not None else today
        return cls(first if first is not None else last - timedelta(days=6), last)

    def instants(self, time_zone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's local midnight to the one after the
        last day."""
        zone = ZoneInfo(time_zone)
        start = datetime.combine(self.first, time(), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class CellCount:
    """A grid cell and how many of something it holds (searches, vehicles)."""

    cell: Cell
    count: int

    @property
    def center(self) -> tuple[float, float]:
        return cell_center(self.cell)
