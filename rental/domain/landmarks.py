"""A place named the way a driver finds it: in a named zone, or so many metres in a compass
direction from the nearest one, instead of a grid cell's coordinates.

The landmarks are the city's own named zones (hotspots and parking zones, no-parking and
slow zones): the names operators gave the places crews know. The service area is a whole
city, not a place, and is never a landmark.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from rental.domain.zones import Zone, ZoneKind

LANDMARK_KINDS = frozenset(ZoneKind) - {ZoneKind.SERVICE_AREA}
# Closer than this to a zone's middle, a place is at the zone whether or not it is inside.
AT_LANDMARK_M = 75
EARTH_RADIUS_M = 6_371_008.8
CompassPoint = Literal["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
COMPASS: tuple[CompassPoint, ...] = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")

Position = tuple[float, float]  # WGS 84 (lon, lat)
Ring = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Landmark:
    """Where a place is: `name` of the zone; `metres` from the zone's middle, rounded to
    10 m; `bearing` the compass point (N, NE, ... NW) from the zone to the place, or None
    when the place is at or inside the zone."""

    name: str
    metres: int
    bearing: CompassPoint | None


@dataclass(frozen=True)
class _Named:
    name: str
    middle: Position
    rings: list[Ring]  # outer rings of its polygons


def nearest_landmark(position: Position, zones: Iterable[Zone]) -> Landmark | None:
    """The named zone a place is in (the smallest, when several hold it), else the one whose
    middle is nearest; None when the city has no named zone to go by."""
    named = [found for zone in zones if (found := _named(zone)) is not None]
    if not named:
        return None
    holding = [place for place in named if any(_inside(position, ring) for ring in place.rings)]
    if holding:
        smallest = min(holding, key=lambda place: sum(_area(ring) for ring in place.rings))
        return Landmark(smallest.name, _rounded(metres_between(smallest.middle, position)), None)
    nearest = min(named, key=lambda place: metres_between(place.middle, position))
    metres = metres_between(nearest.middle, position)
    if metres < AT_LANDMARK_M:
        return Landmark(nearest.name, _rounded(metres), None)
    return Landmark(nearest.name, _rounded(metres), compass_point(nearest.middle, position))


def metres_between(a: Position, b: Position) -> float:
    """Great-circle distance (haversine), in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def compass_point(origin: Position, place: Position) -> CompassPoint:
    """The eight-point compass direction of the initial bearing from `origin` to `place`."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*origin, *place))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    degrees = math.degrees(math.atan2(y, x)) % 360
    return COMPASS[round(degrees / 45) % 8]


def _named(zone: Zone) -> _Named | None:
    if zone.kind not in LANDMARK_KINDS or not zone.name.strip():
        return None
    rings = _outer_rings(zone.geometry)
    points = [point for ring in rings for point in ring[:-1]]  # the closing point repeats
    if not points:
        return None
    middle = (
        sum(float(point[0]) for point in points) / len(points),
        sum(float(point[1]) for point in points) / len(points),
    )
    return _Named(zone.name.strip(), middle, rings)


def _outer_rings(geometry: dict[str, Any]) -> list[Ring]:
    coordinates = geometry.get("coordinates") or []
    if geometry.get("type") == "Polygon":
        return [coordinates[0]] if coordinates else []
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in coordinates if polygon]
    return []


def _inside(position: Position, ring: Ring) -> bool:
    """Ray casting on (lon, lat), fine for the few hundred metres a zone spans."""
    x, y = position
    inside = False
    for (x1, y1), (x2, y2) in _edges(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _area(ring: Ring) -> float:
    """The shoelace area in square degrees: only to compare zones of one city."""
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in _edges(ring)) / 2)


def _edges(ring: Ring) -> list[tuple[Position, Position]]:
    # A position may carry an altitude after lon and lat (RFC 7946 3.1.1).
    points = [(float(point[0]), float(point[1])) for point in ring]
    return list(pairwise(points))


def _rounded(metres: float) -> int:
    return int(round(metres / 10) * 10)
