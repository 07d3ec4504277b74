"""What the rebalancing use cases are asked to do, already valid: the entry points (the API,
the command line, the schedule) read their input into these."""

import uuid
from dataclasses import dataclass

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.domain.rebalancing import RunTrigger, TruckFleet


@dataclass(frozen=True)
class ConfigureFleet:
    """An operator sets up (or changes) a city's trucks."""

    fleet: TruckFleet


@dataclass(frozen=True)
class StartRun:
    """Make a city's plan now."""

    city_id: str
    trigger: RunTrigger
    time_limit_seconds: float | None = None  # None: the fleet's own
    # A seed makes the plan repeatable (see `rebalancing.solver.solve`).
    seed: int | None = None
    solution_limit: int = DEFAULT_SOLUTION_LIMIT


@dataclass(frozen=True)
class MarkStopDone:
    """A driver finished a stop: its bikes are on the truck, or back on the street."""

    plan_id: uuid.UUID
    truck: int
    seq: int
