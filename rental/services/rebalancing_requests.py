"""Plans asked for and the planning workers that make them. The API (an operator's "Plan
now") and the nightly schedule only ask: a plan is stored `queued` with the search asked
for, and a planning worker (`python -m rebalancing worker`) takes the oldest queued plan
of any city and makes it (`rental.services.rebalancing_runs`). The search never runs in a
web server's process, and workers side by side each take their own.

One run per city at a time still holds: a city with a plan queued or running is refused
another (409 `rebalancing_running`).
"""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.domain.errors import RentalError
from rental.domain.rebalancing import PlanState, RebalancingPlan, RunTrigger
from rental.services.rebalancing_commands import StartRun
from rental.services.rebalancing_runs import Planner, due_cities, make_plan, open_run
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def request_run(uow: UnitOfWork, command: StartRun, now: datetime) -> uuid.UUID:
    """Queue the city's plan for a planning worker; its id. Conflict while the city has a
    plan queued or running, NotFound (`fleet_not_configured`) without trucks."""
    return open_run(uow, command, now, state=PlanState.QUEUED)


def take_next(uow: UnitOfWork, now: datetime) -> tuple[uuid.UUID, StartRun] | None:
    """The oldest queued plan, now running for this worker, and what it was asked for."""
    with uow:
        plan = uow.rebalancing.take_queued_plan(now)
        uow.commit()
    return None if plan is None else (plan.id, asked_for(plan))


def asked_for(plan: RebalancingPlan) -> StartRun:
    search = plan.search
    return StartRun(
        plan.city_id,
        plan.trigger,
        search.time_limit_seconds,
        seed=search.seed,
        solution_limit=search.solution_limit or DEFAULT_SOLUTION_LIMIT,
    )


def make_queued_plans(
    uow: Callable[[], UnitOfWork], clock: Callable[[], datetime], planner: Planner
) -> int:
    """Make every plan queued, oldest first, one after the other; how many were made."""
    made = 0
    while (taken := take_next(uow(), clock())) is not None:
        plan_id, command = taken
        log.info("%s: making plan %s (%s)", command.city_id, plan_id, command.trigger.value)
        make_plan(uow, plan_id, command, clock(), planner)
        made += 1
    return made


def request_due_cities(uow: Callable[[], UnitOfWork], now: datetime) -> list[uuid.UUID]:
    """One look at the clock of the nightly schedule: each city due gets its nightly plan
    queued. A city with a plan under way waits for the next look (it is still due then)."""
    queued = []
    for city_id in due_cities(uow(), now):
        try:
            queued.append(request_run(uow(), StartRun(city_id, RunTrigger.NIGHTLY), now))
        except RentalError as error:
            log.warning("%s: no nightly plan yet: %s", city_id, error.message)
    return queued
