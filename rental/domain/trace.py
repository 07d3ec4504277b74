"""A trip's path from the lock's GPS fixes: ordered by the lock's clock, repeats dropped."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Fix:
    recorded_at: datetime
    lon: float
    lat: float


def ordered_path(fixes: Iterable[Fix]) -> list[tuple[float, float]]:
    """(lon, lat) points in time order, without a point repeating the one before it."""
    path: list[tuple[float, float]] = []
    for fix in sorted(fixes, key=lambda f: f.recorded_at):
        point = (fix.lon, fix.lat)
        if not path or path[-1] != point:
            path.append(point)
    return path


def is_valid_position(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
