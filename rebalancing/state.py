"""A city's night as sites: each hotspot's surplus or deficit against its morning target,
and the bikes parked outside every hotspot, gathered by place, all to be picked up.

Hotspots are the operator's parking zones, and the busy corners: cells outside them where
enough trips start on a morning like the coming one (`demand.forecast`). With a city's
unmet-demand weight above 0, morning searches that found no vehicle add to a hotspot's
(or a cell's) starts before its forecast and target are set (`demand.with_unmet`).

Only bikes riders could take count: bikes in a ride, on hold or out of service (damaged,
flat, silent) are left where they are, by the platform's one definition of available (the
platform reads them so; this module takes the bikes it is given).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from rebalancing import demand
from rebalancing.city import Site
from rebalancing.distances import Point

# Bikes outside the hotspots are gathered on a grid of about 250 m: one stop per cell.
CELL_DEGREES = 0.0025
# A corner outside the operator's hotspots becomes one when this many trips start there on
# a morning like the coming one (by the same forecast).
MIN_CORNER_STARTS = 3.0

Cell = tuple[int, int]


@dataclass(frozen=True)
class Hotspot:
    key: str  # a zone's id, or a cell's key for hotspots found in the trips
    name: str
    center: Point
    target: int = 0  # bikes wanted by morning; 0 until the forecast sets it


@dataclass(frozen=True)
class ParkedBike:
    asset_id: str
    position: Point
    hotspot: str | None  # the zone it stands in, if any (in a night: the hotspot it counts for)
    battery_pct: int | None = None


@dataclass(frozen=True)
class CityNight:
    """A city's night against the coming morning: its sites, and the trip starts that set
    their targets (kept to measure the forecast's error)."""

    morning: date
    sites: list[Site]
    starts: dict[str, dict[date, int]]  # morning trip starts per hotspot key and day
    first_day: date  # the first day the city has trips


def cell_of(position: Point) -> Cell:
    return (int(position[0] // CELL_DEGREES), int(position[1] // CELL_DEGREES))


def cell_key(cell: Cell) -> str:
    return f"cell:{cell[0]}:{cell[1]}"


@dataclass(frozen=True)
class UnmetDemand:
    """Morning searches that found no vehicle, per day, counted as the starts are (per
    zone, per cell outside every zone), and the trip starts each one adds (0: none)."""

    weight: float = 0.0
    by_zone: Mapping[str, Mapping[date, int]] = field(default_factory=dict)
    by_cell: Mapping[Cell, Mapping[date, int]] = field(default_factory=dict)


NO_UNMET_DEMAND = UnmetDemand()


def city_night(
    zones: Sequence[Hotspot],
    starts_by_zone: Mapping[str, Mapping[date, int]],
    starts_by_cell: Mapping[Cell, Mapping[date, int]],
    bikes: Sequence[ParkedBike],
    morning: date,
    first_day: date,
    unmet: UnmetDemand = NO_UNMET_DEMAND,
) -> CityNight:
    """The night's sites. `zones` are the operator's hotspots (targets not yet set), `bikes`
    name the zone they stand in, if any; the starts are per zone and per cell outside them.
    `unmet` searches, weighted, add to the starts that set the targets and busy corners
    (the starts kept in the night, to measure the forecast by, are the trips alone)."""
    starts = {
        **{key: dict(days) for key, days in starts_by_zone.items()},
        **{cell_key(cell): dict(days) for cell, days in starts_by_cell.items()},
    }
    demand_by_key = _demand(starts, unmet)
    corners = _busy_corners(
        {cell: demand_by_key.get(cell_key(cell), {}) for cell in {*starts_by_cell, *unmet.by_cell}},
        morning,
        first_day,
    )
    hotspots = [
        replace(spot, target=demand.target(demand_by_key.get(spot.key, {}), morning, first_day))
        for spot in [*zones, *corners]
    ]
    keys = {spot.key for spot in hotspots}
    parked = [_in_hotspot(bike, keys) for bike in bikes]
    return CityNight(morning, night_sites(hotspots, parked), starts, first_day)


def _demand(
    starts: Mapping[str, Mapping[date, int]], unmet: UnmetDemand
) -> dict[str, demand.DayCounts]:
    """Per hotspot or cell key, each day's starts with the weighted unmet searches."""
    if unmet.weight == 0:
        return dict(starts)
    searches = {
        **unmet.by_zone,
        **{cell_key(cell): days for cell, days in unmet.by_cell.items()},
    }
    return {
        key: demand.with_unmet(starts.get(key, {}), searches.get(key, {}), unmet.weight)
        for key in {*starts, *searches}
    }


def _busy_corners(
    starts_by_cell: Mapping[Cell, demand.DayCounts], morning: date, first_day: date
) -> list[Hotspot]:
    return [
        Hotspot(
            cell_key(cell),
            f"busy corner {cell[0]}:{cell[1]}",
            ((cell[0] + 0.5) * CELL_DEGREES, (cell[1] + 0.5) * CELL_DEGREES),
        )
        for cell, days in sorted(starts_by_cell.items())
        if demand.forecast(days, morning, first_day) >= MIN_CORNER_STARTS
    ]


def _in_hotspot(bike: ParkedBike, hotspot_keys: set[str]) -> ParkedBike:
    """The bike with the hotspot it counts for: its zone, or the busy corner of its cell."""
    spot = bike.hotspot if bike.hotspot is not None else cell_key(cell_of(bike.position))
    return replace(bike, hotspot=spot if spot in hotspot_keys else None)


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
