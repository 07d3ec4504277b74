"""From a city's night to a routing problem, and from a plan back to bikes moved.

Each site (a hotspot, or a place bikes piled up) has a surplus (bikes to take away) or a
deficit (bikes it lacks by morning). A site is split into stops of at most a truckload,
so that one truck can take part of a big pile and another the rest; every stop is
optional, at a penalty worth the bikes it leaves unmoved, so that when the trucks cannot
do everything the least valuable stops are the ones left out.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from rebalancing.distances import DistanceSource, Point
from rebalancing.problem import Plan, Problem, Truck

# What a bike left in the wrong place costs, in metres of truck driving: a bike moved
# must be worth a detour of this much. Tuned so that no truck drives 3 km for one bike.
BIKE_VALUE_M = 2_000
# Loading or unloading: a fixed stop time, plus some seconds per bike.
STOP_SECONDS = 120
SECONDS_PER_BIKE = 20


@dataclass(frozen=True)
class Site:
    position: Point
    surplus: int  # > 0: bikes to take away; < 0: bikes missing
    name: str = ""
    bike_ids: tuple[str, ...] = ()  # bikes there that a truck may take, in order of choice


@dataclass(frozen=True)
class Trucks:
    """The trucks of a night: they all start and end at the depot."""

    depot: Point
    capacities: Sequence[int]
    shift_seconds: int | Sequence[int]  # one for all, or one per truck
    speed_m_per_s: float
    depot_stock: int = 0  # bikes waiting at the depot to go out

    def shifts(self) -> list[int]:
        if isinstance(self.shift_seconds, int):
            return [self.shift_seconds] * len(self.capacities)
        return list(self.shift_seconds)


@dataclass(frozen=True)
class Stop:
    site: int  # index into the sites
    bikes: int  # > 0 picked up, < 0 dropped
    bike_ids: tuple[str, ...] = ()  # which bikes to pick up, when the site names them


@dataclass(frozen=True)
class Night:
    """The problem, and which site each of its nodes stands for (node 0 is the depot)."""

    problem: Problem
    stops: list[Stop]

    def site_of(self, node: int) -> Stop:
        return self.stops[node - 1]


def night_problem(
    sites: Sequence[Site],
    trucks: Trucks,
    distances: DistanceSource,
    bike_value_m: int = BIKE_VALUE_M,
) -> Night:
    chunk = min(trucks.capacities)
    stops = [stop for index, site in enumerate(sites) for stop in _stops(index, site, chunk)]
    points = [trucks.depot, *(sites[stop.site].position for stop in stops)]
    metres = distances.matrix(points)
    seconds = [
        [
            0 if a == b else round(metres[a][b] / trucks.speed_m_per_s) + _service(stops, b)
            for b in range(len(points))
        ]
        for a in range(len(points))
    ]
    problem = Problem(
        costs=metres,
        demands=[0, *(stop.bikes for stop in stops)],
        trucks=[
            Truck(capacity, 0, shift)
            for capacity, shift in zip(trucks.capacities, trucks.shifts(), strict=True)
        ],
        penalties=[None, *(abs(stop.bikes) * bike_value_m for stop in stops)],
        seconds=seconds,
        depot_stock=trucks.depot_stock,
    )
    return Night(problem, stops)


def _stops(index: int, site: Site, chunk: int) -> list[Stop]:
    """A site as stops of at most `chunk` bikes, each pick-up with the bikes it takes."""
    sign = 1 if site.surplus > 0 else -1
    stops, taken = [], 0
    for bikes in _split(abs(site.surplus), chunk):
        ids = site.bike_ids[taken : taken + bikes] if sign > 0 else ()
        stops.append(Stop(index, sign * bikes, ids))
        taken += bikes
    return stops


def _split(bikes: int, chunk: int) -> list[int]:
    whole, rest = divmod(bikes, chunk)
    return [chunk] * whole + ([rest] if rest else [])


def _service(stops: Sequence[Stop], node: int) -> int:
    """Time spent at the node arrived at (the depot takes none)."""
    if node == 0:
        return 0
    return STOP_SECONDS + SECONDS_PER_BIKE * abs(stops[node - 1].bikes)


@dataclass(frozen=True)
class Outcome:
    imbalance_before: int  # bikes in excess plus bikes missing, over all sites
    imbalance_after: int
    bikes_moved: int
    truck_metres: int

    @property
    def removed_per_truck_km(self) -> float:
        removed = self.imbalance_before - self.imbalance_after
        return removed / (self.truck_metres / 1000) if self.truck_metres else 0.0


def outcome(sites: Sequence[Site], night: Night, plan: Plan) -> Outcome:
    """What the plan does to the city: bikes picked up leave their site's surplus, bikes
    dropped fill a deficit; the depot balances the difference."""
    left = [site.surplus for site in sites]
    moved = 0
    for route in plan.routes:
        for node in route:
            stop = night.site_of(node)
            left[stop.site] -= stop.bikes
            moved += abs(stop.bikes)
    travel = plan.cost - sum(night.problem.penalty(node) or 0 for node in plan.skipped)
    return Outcome(
        imbalance_before=sum(abs(site.surplus) for site in sites),
        imbalance_after=sum(abs(value) for value in left),
        bikes_moved=moved,
        truck_metres=travel,
    )
