"""A quick first plan for big cities: each truck in turn drives to the stop that is worth
most for the distance, among those its load and shift still allow, until none is worth the
drive. OR-Tools' own first-solution heuristics take minutes on thousands of stops; this
takes a second, and the search improves on it.

A truck's starting load is free, as in the model: what matters is how far the load swings
along the route (at most the capacity), and the depot hands out only the bikes it has.
"""

from dataclasses import dataclass

import numpy as np

from rebalancing.problem import NO_ARC, Problem

# A mandatory stop outweighs any distance.
MANDATORY = NO_ARC


@dataclass
class _Truck:
    """One truck's route as it grows: its load relative to the start, the lowest and highest
    it went, and its time on the road."""

    depot: int
    capacity: int
    shift: float
    at: int
    load: int = 0
    lowest: int = 0
    highest: int = 0
    seconds: int = 0


def greedy_routes(problem: Problem) -> list[list[int]]:
    """One route per truck (depot left out), keeping every rule of `violations`."""
    costs = np.asarray(problem.costs, dtype=np.int64)
    seconds = costs if problem.seconds is None else np.asarray(problem.seconds, dtype=np.int64)
    demands = np.asarray(problem.demands, dtype=np.int64)
    worth = np.array(
        [
            MANDATORY if problem.penalty(n) is None else problem.penalty(n)
            for n in range(problem.size)
        ],
        dtype=np.int64,
    )
    open_stops = np.zeros(problem.size, dtype=bool)
    open_stops[problem.stops()] = True
    stock = problem.depot_stock
    routes = []
    for spec in problem.trucks:
        truck = _Truck(spec.depot, spec.capacity, spec.shift_seconds or np.inf, spec.depot)
        route: list[int] = []
        while True:
            node = _best_next(truck, costs, seconds, demands, worth, open_stops, stock)
            if node is None:
                break
            stock = _drive(truck, node, seconds, int(demands[node]), stock)
            open_stops[node] = False
            route.append(node)
        routes.append(route)
    return routes


def _best_next(
    truck: _Truck,
    costs: np.ndarray,
    seconds: np.ndarray,
    demands: np.ndarray,
    worth: np.ndarray,
    open_stops: np.ndarray,
    stock: int | None,
) -> int | None:
    load = truck.load + demands
    lowest = np.minimum(truck.lowest, load)
    swing_ok = np.maximum(truck.highest, load) - lowest <= truck.capacity
    # The truck takes -lowest bikes from the depot; what it takes beyond what it already
    # took must be left there.
    stock_ok = True if stock is None else truck.lowest - lowest <= stock
    back = seconds[truck.at] + seconds[:, truck.depot]
    in_shift = truck.seconds + back <= truck.shift
    reachable = (costs[truck.at] < NO_ARC) & (costs[:, truck.depot] < NO_ARC)  # and back
    allowed = open_stops & swing_ok & stock_ok & in_shift & reachable
    if not allowed.any():
        return None
    gain = np.where(allowed, worth - costs[truck.at], np.iinfo(np.int64).min)
    node = int(np.argmax(gain))
    return node if gain[node] > 0 else None


def _drive(
    truck: _Truck, node: int, seconds: np.ndarray, demand: int, stock: int | None
) -> int | None:
    """Moves the truck to `node`; the depot's stock left once this truck has its start load."""
    before = truck.lowest
    truck.seconds += int(seconds[truck.at, node])
    truck.load += demand
    truck.lowest = min(truck.lowest, truck.load)
    truck.highest = max(truck.highest, truck.load)
    truck.at = node
    return None if stock is None else stock - (before - truck.lowest)
