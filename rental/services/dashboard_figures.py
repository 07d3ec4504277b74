"""The figures of the operator's dashboard (`rental.services.dashboard`), as the read model
gives them: plain values, money in minor units, days and hours on the city's clock."""

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class HourFigures:
    hour: datetime  # the start of the hour, in the city's time zone
    rides: int  # rides that started in it


@dataclass(frozen=True)
class DayFigures:
    day: date  # the city's calendar day
    rides: int  # rides that started on it
    vehicles: int  # vehicles registered by its end, or ridden on it if more
    revenue_minor: int  # platform revenue booked on it: fares and holds, less refunds

    @property
    def rides_per_vehicle(self) -> float:
        """Utilisation: the industry's "turns" per vehicle and day."""
        return self.rides / self.vehicles if self.vehicles else 0.0


@dataclass(frozen=True)
class UnlockFigures:
    """Unlocks asked for in the window, answered either way (those still waiting left out)."""

    succeeded: int
    failed: int
    median_ms: int | None  # from the rider's request to the lock's confirmation
    p95_ms: int | None

    @property
    def success_rate(self) -> float | None:
        answered = self.succeeded + self.failed
        return self.succeeded / answered if answered else None


@dataclass(frozen=True)
class HotspotFigures:
    """A parking hotspot: vehicles riders can take there now, and the mean number of rides
    that started there each morning (06:00-10:00 local, as `rebalancing.demand` counts)."""

    name: str
    lon: float
    lat: float
    available: int
    morning_rides: float
