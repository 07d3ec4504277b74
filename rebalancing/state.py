"""A city's night as sites: each hotspot's surplus or deficit against its morning target,
and the bikes parked outside every hotspot, gathered by place, all to be picked up.

Only bikes riders could take count: bikes in a ride, on hold or out of service (damaged,
flat, silent) are left where they are, by the platform's one definition of available.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rebalancing.city import Site
from rebalancing.distances import Point

# Bikes outside the hotspots are gathered on a grid of about 250 m: one stop per cell.
CELL_DEGREES = 0.0025


@dataclass(frozen=True)
class Hotspot:
    key: str  # a zone's id, or a cell's key for hotspots found in the trips
    name: str
    center: Point
    target: int


@dataclass(frozen=True)
class ParkedBike:
    asset_id: str
    position: Point
    hotspot: str | None  # the hotspot it stands in, if any
    battery_pct: int | None = None


def cell_of(position: Point) -> tuple[int, int]:
    return (int(position[0] // CELL_DEGREES), int(position[1] // CELL_DEGREES))


def night_sites(hotspots: Sequence[Hotspot], bikes: Sequence[ParkedBike]) -> list[Site]:
    """Hotspots first, in their order, then the stray cells; bikes a truck may take are
    listed fullest battery first, so that the bikes moved are the ones worth riding."""
    inside: dict[str, list[ParkedBike]] = defaultdict(list)
    strays: dict[tuple[int, int], list[ParkedBike]] = defaultdict(list)
    for bike in bikes:
        if bike.hotspot is not None:
            inside[bike.hotspot].append(bike)
        else:
            strays[cell_of(bike.position)].append(bike)
    sites = [
        Site(spot.center, len(inside[spot.key]) - spot.target, spot.name, _ids(inside[spot.key]))
        for spot in hotspots
    ]
    for cell, parked in sorted(strays.items()):
        center = (
            sum(bike.position[0] for bike in parked) / len(parked),
            sum(bike.position[1] for bike in parked) / len(parked),
        )
        sites.append(Site(center, len(parked), f"outside hotspots {cell}", _ids(parked)))
    return sites


def _ids(bikes: list[ParkedBike]) -> tuple[str, ...]:
    ordered = sorted(bikes, key=lambda bike: (-(bike.battery_pct or 0), bike.asset_id))
    return tuple(bike.asset_id for bike in ordered)
