"""Travel costs between places: great-circle distance times a detour factor by default;
an operator with a road-routing service plugs in its table instead (any object with
`matrix`)."""

import math
from collections.abc import Sequence
from typing import Protocol

EARTH_RADIUS_M = 6_371_000
# Streets are not straight lines: city trips run some 30% longer than the crow flies.
DETOUR_FACTOR = 1.3

Point = tuple[float, float]  # (lon, lat), WGS 84


class DistancesUnavailable(Exception):
    """The distance source could not give the table (a routing service down, say)."""


class DistanceSource(Protocol):
    def matrix(self, points: Sequence[Point]) -> list[list[int]]:
        """Metres from each point to each other, as integers."""
        ...


def great_circle_m(a: Point, b: Point) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


class GreatCircle:
    def __init__(self, detour_factor: float = DETOUR_FACTOR) -> None:
        self.detour_factor = detour_factor

    def matrix(self, points: Sequence[Point]) -> list[list[int]]:
        return [[round(great_circle_m(a, b) * self.detour_factor) for b in points] for a in points]
