"""Routes trucks with OR-Tools: a routing model with a load dimension (the truck's bikes,
within its capacity, starting load free), a time dimension when shifts apply, and
optional stops that may be skipped at a penalty. The nightly job and the benchmark both
solve through `solve`.

Several searches, each from another first solution, run side by side in processes of
their own (OR-Tools' routing search uses one thread); the cheapest plan wins.
"""

import logging
import multiprocessing
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_TRUE

from rebalancing.greedy import greedy_routes
from rebalancing.problem import Plan, Problem, route_cost

log = logging.getLogger(__name__)

FirstSolution = routing_enums_pb2.FirstSolutionStrategy
# Measured on the public benchmark: these two reach the best 10 s results, each on other
# instances; more searches than cores only share the cores.
# Above this many stops, OR-Tools' first-solution heuristics take minutes (2,106 stops:
# 119 s to a useful plan), and the first search starts from the greedy plan instead.
GREEDY_START_ABOVE = 500
# A seeded search's work: solutions found, first and improving ones.
DEFAULT_SOLUTION_LIMIT = 2000
STRATEGIES = ("PARALLEL_CHEAPEST_INSERTION", "SAVINGS", "PATH_CHEAPEST_ARC", "CHRISTOFIDES")


class NoPlan(Exception):
    """The search found no plan within its time (every stop is mandatory and the trucks
    cannot serve them all, or the time was too short for a first one)."""


@dataclass(frozen=True)
class Search:
    time_limit_seconds: float
    first_solution: str = STRATEGIES[0]
    trucks: int | None = None  # use only the first this many trucks
    # A seed makes the search repeatable: it orders the stops, and the search ends after
    # `solution_limit` solutions, a count of work that does not depend on the machine's
    # speed; the time limit still caps it.
    seed: int | None = None
    solution_limit: int | None = None
    greedy_start: bool = False


def solve(
    problem: Problem,
    time_limit_seconds: float,
    workers: int = 2,
    few_trucks: int | None = None,
    seed: int | None = None,
    solution_limit: int = DEFAULT_SOLUTION_LIMIT,
) -> Plan:
    """The cheapest plan that `workers` searches find in the time given.

    `few_trucks`: where trucks are many and alike (the benchmark's "as many as needed"),
    the first search uses only this many, which it searches faster; the others use them
    all, which always admits a plan (one stop per truck) where few trucks may admit none.

    With a `seed`, the same problem gives the same plan, as long as every search ends on
    its `solution_limit` before the time limit (the plan says whether it did)."""
    names = STRATEGIES[: max(1, workers)]
    limit = solution_limit if seed is not None else None
    big = len(problem.stops()) > GREEDY_START_ABOVE
    searches = [
        Search(
            time_limit_seconds,
            name,
            few_trucks if index == 0 else None,
            seed,
            limit,
            greedy_start=big and index == 0,
        )
        for index, name in enumerate(names)
    ]
    if len(searches) == 1:
        plans = [_search(problem, searches[0])]
    else:
        # Spawned, not forked: the API starts runs from a thread, and a fork copies the
        # locks other threads hold at that moment.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(searches), mp_context=spawn) as pool:
            plans = list(pool.map(_search, [problem] * len(searches), searches))
    found = [plan for plan in plans if plan is not None]
    if not found:
        raise NoPlan("no plan found in the time given")
    first = min(plan.first_found_seconds or time_limit_seconds for plan in found)
    # min() keeps the first of equal plans: the order of the searches breaks ties.
    return replace(
        min(found, key=lambda plan: plan.cost),
        first_found_seconds=first,
        repeatable=all(plan is not None and plan.repeatable for plan in plans),
    )


def _search(problem: Problem, search: Search) -> Plan | None:
    if search.trucks is not None and search.trucks < len(problem.trucks):
        problem = replace(problem, trucks=list(problem.trucks[: search.trucks]))
    if search.seed is None:
        return _search_in_order(problem, search)
    order = list(range(problem.size))
    random.Random(search.seed).shuffle(order)
    plan = _search_in_order(_renumbered(problem, order), search)
    if plan is None:
        return None
    routes = [[order[node] for node in route] for route in plan.routes]
    return replace(plan, routes=routes, skipped=sorted(order[node] for node in plan.skipped))


def _renumbered(problem: Problem, order: Sequence[int]) -> Problem:
    """The same problem with node i of the result being node order[i] of the original."""
    where = {old: new for new, old in enumerate(order)}

    def matrix(rows: Sequence[Sequence[int]]) -> list[list[int]]:
        return [[rows[a][b] for b in order] for a in order]

    return replace(
        problem,
        costs=matrix(problem.costs),
        seconds=matrix(problem.seconds) if problem.seconds is not None else None,
        demands=[problem.demands[node] for node in order],
        penalties=[problem.penalties[node] for node in order] if problem.penalties else (),
        trucks=[replace(truck, depot=where[truck.depot]) for truck in problem.trucks],
    )


def _search_in_order(problem: Problem, search: Search) -> Plan | None:
    manager = pywrapcp.RoutingIndexManager(
        problem.size,
        len(problem.trucks),
        [truck.depot for truck in problem.trucks],  # starts
        [truck.depot for truck in problem.trucks],  # ends
    )
    routing = pywrapcp.RoutingModel(manager)
    _add_costs(routing, problem)
    _add_load(routing, problem)
    if problem.seconds is not None:
        _add_shifts(routing, problem)
    _add_optional_stops(routing, manager, problem)
    started = time.perf_counter()
    first_found: list[float] = []
    solutions = 0
    # Where every stop may be skipped, skipping them all is a plan too; the first plan
    # worth the name is one that does better than that.
    doing_nothing = sum(problem.penalty(node) or 0 for node in problem.stops())

    def found_one() -> None:
        nonlocal solutions
        solutions += 1
        worth_it = not doing_nothing or routing.CostVar().Value() < doing_nothing
        if not first_found and worth_it:
            first_found.append(time.perf_counter() - started)

    routing.AddAtSolutionCallback(found_one)
    parameters = _parameters(search)
    initial = _greedy_start(routing, manager, problem, parameters) if search.greedy_start else None
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, parameters)
    else:
        solution = routing.SolveWithParameters(parameters)
    if solution is None:
        log.info("%s found no plan", search.first_solution)
        return None
    plan = _plan(problem, routing, manager, solution)
    return replace(
        plan,
        first_found_seconds=first_found[0] if first_found else None,
        repeatable=search.solution_limit is not None and solutions >= search.solution_limit,
    )


def _greedy_start(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    problem: Problem,
    parameters: pywrapcp.DefaultRoutingSearchParameters,
) -> pywrapcp.Assignment | None:
    """The greedy plan as the search's first solution; None where the model refuses it."""
    routes = greedy_routes(problem)
    routing.CloseModelWithParameters(parameters)
    indices = [[manager.NodeToIndex(node) for node in route] for route in routes]
    initial = routing.ReadAssignmentFromRoutes(indices, True)
    if initial is None:
        log.warning("the greedy plan does not fit the model; searching from scratch")
    return initial


def _add_costs(routing: pywrapcp.RoutingModel, problem: Problem) -> None:
    # A matrix the solver reads itself: a Python callback per arc is several times slower.
    cost = routing.RegisterTransitMatrix([list(row) for row in problem.costs])
    routing.SetArcCostEvaluatorOfAllVehicles(cost)


def _add_load(routing: pywrapcp.RoutingModel, problem: Problem) -> None:
    load = routing.RegisterUnaryTransitVector(list(problem.demands))
    routing.AddDimensionWithVehicleCapacity(
        load,
        0,  # no slack: a slack would let the load leave [0, capacity] unseen
        [truck.capacity for truck in problem.trucks],  # the most bikes on board
        False,  # the starting load is free: the depot supplies or absorbs bikes
        "load",
    )
    if problem.depot_stock is not None:
        # What the trucks take from the depot, all together, is what it has.
        loads = routing.GetDimensionOrDie("load")
        starts = [loads.CumulVar(routing.Start(truck)) for truck in range(len(problem.trucks))]
        routing.solver().Add(routing.solver().Sum(starts) <= problem.depot_stock)


def _add_shifts(routing: pywrapcp.RoutingModel, problem: Problem) -> None:
    assert problem.seconds is not None
    time = routing.RegisterTransitMatrix([list(row) for row in problem.seconds])
    longest = max(truck.shift_seconds or 0 for truck in problem.trucks)
    routing.AddDimensionWithVehicleCapacity(
        time,
        0,  # no waiting: stops have no time windows
        [truck.shift_seconds or longest for truck in problem.trucks],  # each truck's shift
        True,  # a shift starts at zero
        "time",
    )


def _add_optional_stops(
    routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager, problem: Problem
) -> None:
    for node in problem.stops():
        penalty = problem.penalty(node)
        if penalty is not None:
            routing.AddDisjunction([manager.NodeToIndex(node)], penalty)


def _parameters(search: Search) -> pywrapcp.DefaultRoutingSearchParameters:
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = getattr(FirstSolution, search.first_solution)
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    # Re-inserting a few nearby stops at once gets guided local search out of the local
    # optima of tightly loaded routes: on five hard benchmark instances at 15 s, the mean
    # gap went from +1.56% to +1.17% (other operators and lambdas measured did no better).
    operators = parameters.local_search_operators
    operators.use_global_cheapest_insertion_close_nodes_lns = BOOL_TRUE
    operators.use_local_cheapest_insertion_close_nodes_lns = BOOL_TRUE
    parameters.time_limit.FromMilliseconds(int(search.time_limit_seconds * 1000))
    if search.solution_limit is not None:
        parameters.solution_limit = search.solution_limit
    return parameters


def _plan(
    problem: Problem,
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    solution: pywrapcp.Assignment,
) -> Plan:
    routes: list[list[int]] = []
    for truck in range(len(problem.trucks)):
        index = routing.Start(truck)
        route = []
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node != problem.trucks[truck].depot:
                route.append(node)
            index = solution.Value(routing.NextVar(index))
        routes.append(route)
    visited = {node for route in routes for node in route}
    skipped = [node for node in problem.stops() if node not in visited]
    return Plan(routes, _cost(problem, routes, skipped), skipped)


def _cost(problem: Problem, routes: Sequence[Sequence[int]], skipped: Sequence[int]) -> int:
    travel = sum(
        route_cost(problem.costs, truck.depot, route)
        for truck, route in zip(problem.trucks, routes, strict=True)
    )
    return travel + sum(problem.penalty(node) or 0 for node in skipped)
