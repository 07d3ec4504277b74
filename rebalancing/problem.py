"""The rebalancing problem as plain data: stops with bikes to pick up or drop, trucks with a
capacity and a shift, and the costs between places; and the rules a plan must keep.

One truck's load must stay within [0, capacity] along its whole route. Its starting load
is free: the depot supplies or absorbs bikes. A mandatory stop is served in full; an
optional one may be skipped at its penalty (the value of the bikes it leaves unmoved).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

# Costs above this mean "no way from here to there" (the benchmark writes 1e9).
NO_ARC = 100_000_000


@dataclass(frozen=True)
class Truck:
    capacity: int
    depot: int = 0  # the node where its route starts and ends
    shift_seconds: int | None = None


@dataclass(frozen=True)
class Problem:
    """Node 0.. n-1; a depot node has demand 0. `demands[i]` > 0 picks up that many bikes,
    < 0 drops them. `penalties[i]` None: the stop must be served; else skipping it costs
    that much (in the units of `costs`)."""

    costs: Sequence[Sequence[int]]  # metres (or any cost), asymmetric
    demands: Sequence[int]
    trucks: Sequence[Truck]
    penalties: Sequence[int | None] = ()
    seconds: Sequence[Sequence[int]] | None = None  # travel plus service time, when shifts apply
    # Bikes the depot can hand out at the start of the night; None: as many as needed
    # (the benchmark's rule). Trucks may always bring bikes back to the depot.
    depot_stock: int | None = None

    @property
    def size(self) -> int:
        return len(self.demands)

    @property
    def depots(self) -> frozenset[int]:
        return frozenset(truck.depot for truck in self.trucks)

    def stops(self) -> list[int]:
        return [node for node in range(self.size) if node not in self.depots]

    def penalty(self, node: int) -> int | None:
        return self.penalties[node] if self.penalties else None


@dataclass(frozen=True)
class Plan:
    """One route per truck (stops in visiting order, depot left out), and its cost."""

    routes: list[list[int]]
    cost: int
    skipped: list[int] = field(default_factory=list)
    first_found_seconds: float | None = None  # how long to a first plan better than none
    repeatable: bool = False  # a seeded search that ended on its work, not on the clock


def trucks_needed(demands: Sequence[int], capacity: int) -> int:
    """A lower bound on the trucks of a benchmark instance: what the depot must supply or
    absorb overall, a truckload at a time, and at least one truck."""
    return max(1, math.ceil(abs(sum(demands)) / capacity))


def route_cost(costs: Sequence[Sequence[int]], depot: int, route: Sequence[int]) -> int:
    return sum(costs[a][b] for a, b in _arcs(depot, route))


def load_is_feasible(demands: Sequence[int], route: Sequence[int], capacity: int) -> bool:
    """Some starting load keeps the truck within [0, capacity] all along: the load swings
    by no more than the capacity."""
    load = lowest = highest = 0
    for node in route:
        load += demands[node]
        lowest, highest = min(lowest, load), max(highest, load)
    return highest - lowest <= capacity


def starting_load(demands: Sequence[int], route: Sequence[int]) -> int:
    """The fewest bikes a truck must leave the depot with to serve its route."""
    load = lowest = 0
    for node in route:
        load += demands[node]
        lowest = min(lowest, load)
    return -lowest


def violations(problem: Problem, plan: Plan) -> list[str]:
    """What breaks the rules in a plan; empty when it keeps them all and costs what it says."""
    faults: list[str] = []
    if len(plan.routes) > len(problem.trucks):
        faults.append(f"{len(plan.routes)} routes for {len(problem.trucks)} trucks")
    visits = [node for route in plan.routes for node in route]
    if len(visits) != len(set(visits)):
        faults.append("a stop is visited twice")
    if problem.depots & set(visits):
        faults.append("a route visits a depot")
    for node in set(problem.stops()) - set(visits):
        if problem.penalty(node) is None:
            faults.append(f"mandatory stop {node} is not served")
    cost = 0
    supplied = 0
    for truck, route in zip(problem.trucks, plan.routes, strict=False):
        if not load_is_feasible(problem.demands, route, truck.capacity):
            faults.append(f"route {route} breaks the capacity {truck.capacity}")
        supplied += starting_load(problem.demands, route)
        if any(problem.costs[a][b] >= NO_ARC for a, b in _arcs(truck.depot, route)):
            faults.append(f"route {route} uses an arc that does not exist")
        cost += route_cost(problem.costs, truck.depot, route)
    if problem.depot_stock is not None and supplied > problem.depot_stock:
        faults.append(
            f"the trucks take {supplied} bikes from a depot that has {problem.depot_stock}"
        )
    skipped = set(problem.stops()) - set(visits)
    cost += sum(problem.penalty(node) or 0 for node in skipped)
    if cost != plan.cost:
        faults.append(f"the plan says it costs {plan.cost}, its routes cost {cost}")
    return faults


def _arcs(depot: int, route: Sequence[int]) -> list[tuple[int, int]]:
    return list(pairwise([depot, *route, depot])) if route else []
