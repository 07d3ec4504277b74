"""The public static bike-sharing rebalancing benchmark (Dell'Amico et al., 2014) as our
problem: the format and its rules are in ../shared/data/brp-instances/README.md."""

import csv
from dataclasses import dataclass
from pathlib import Path

from rebalancing.problem import NO_ARC, Problem, Truck, trucks_needed

# Routes beyond the lower bound on trucks: room for the solver to split awkward loads.
# Unused trucks cost nothing.
SPARE_TRUCKS = 3


def few_trucks(problem: Problem) -> int:
    """What a search over few trucks uses: the lower bound and some spare ones."""
    capacity = problem.trucks[0].capacity
    return min(len(problem.trucks), trucks_needed(problem.demands, capacity) + SPARE_TRUCKS)


@dataclass(frozen=True)
class Reference:
    lower_bound: float
    best_known: int
    proven_optimal: bool


def read_instance(path: Path) -> Problem:
    tokens = path.read_text().split()
    size = int(tokens[0])
    demands = [int(float(token)) for token in tokens[1 : 1 + size]]
    capacity = int(float(tokens[1 + size]))
    numbers = [float(token) for token in tokens[2 + size : 2 + size + size * size]]
    if len(numbers) != size * size:
        raise ValueError(f"{path.name}: expected {size * size} costs, found {len(numbers)}")
    costs = [
        [_cost(numbers[row * size + column], row == column) for column in range(size)]
        for row in range(size)
    ]
    # As many trucks as needed: one per station always admits a plan.
    return Problem(costs=costs, demands=demands, trucks=[Truck(capacity)] * max(1, size - 1))


def _cost(value: float, diagonal: bool) -> int:
    if diagonal:
        return 0  # staying put: an unused truck goes from the depot to the depot
    return NO_ARC if value > NO_ARC else round(value)


def read_references(path: Path) -> dict[str, Reference]:
    with path.open() as file:
        return {
            row["instance"]: Reference(
                float(row["lower_bound"]), int(row["best_known"]), row["proven_optimal"] == "1"
            )
            for row in csv.DictReader(file)
        }
