"""Runs of the nightly rebalancing: a run opens a plan for a city (one run at a time per
city), reads the city's night, makes the plan with OR-Tools and stores it `ready` with its
stops, or `failed` with why.

Runs happen in planning workers (`python -m rebalancing worker`), never in the API: the API
and the nightly schedule ask for a plan (`rental.services.rebalancing_requests`), a worker
takes it and makes it here. `python -m rebalancing plan` makes one in its own process.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from rebalancing import demand, plans
from rebalancing.city import Night, Trucks, night_problem
from rebalancing.distances import DistanceSource, DistancesUnavailable, GreatCircle
from rebalancing.plans import PlannedStop, Summary
from rebalancing.solver import solve
from rebalancing.state import (
    CELL_DEGREES,
    NO_UNMET_DEMAND,
    CityNight,
    UnmetDemand,
    city_night,
)
from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import ServicePolicy
from rental.domain.rebalancing import (
    PlanState,
    RunTrigger,
    SearchLimits,
    TruckFleet,
    nightly_run_is_due,
)
from rental.services.rebalancing_commands import StartRun
from rental.services.signals import RebalancingRunEnded, announce, rebalancing_run_ended
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Where a plan queued is announced (LISTEN/NOTIFY; the payload is the city's id): planning
# workers wait there (`rental.adapters.plan_requests`) and take it within moments.
PLAN_REQUESTS_CHANNEL = "rebalancing_plan_requested"


class RoutingService(Protocol):
    """Road distances from the routing service a fleet names (`TruckFleet.routing_url`).
    A table raises `DistancesUnavailable` when the service is down or answers nonsense."""

    def distances(self, routing_url: str) -> DistanceSource: ...


@dataclass(frozen=True)
class Planner:
    """What a run needs besides its command."""

    policy: ServicePolicy  # which bikes riders could take
    routing: RoutingService
    workers: int = 2  # searches side by side, one per core


def open_run(
    uow: UnitOfWork, command: StartRun, now: datetime, state: PlanState = PlanState.RUNNING
) -> uuid.UUID:
    """A new plan, running (or queued for a worker); Conflict while another run of the city
    is queued or under way, NotFound for a city without trucks."""
    with uow:
        if uow.rebalancing.fleet(command.city_id) is None:
            raise no_fleet(command.city_id)
        under_way = uow.rebalancing.plan_under_way(command.city_id)
        if under_way is not None:
            if not under_way.is_abandoned(now):
                raise _under_way()
            error = under_way.why_abandoned()
            uow.rebalancing.end_plan(under_way.id, PlanState.FAILED, now, error=error)
        search = SearchLimits(command.time_limit_seconds, command.seed, command.solution_limit)
        plan = uow.rebalancing.add_plan(
            command.city_id, command.trigger, now, state=state, search=search
        )
        if plan is None:  # a run started meanwhile
            raise _under_way()
        if state is PlanState.QUEUED:
            uow.notify(PLAN_REQUESTS_CHANNEL, command.city_id)  # sent once committed
        uow.commit()
    return plan.id


def make_plan(
    uow: Callable[[], UnitOfWork],
    plan_id: uuid.UUID,
    command: StartRun,
    now: datetime,
    planner: Planner,
) -> None:
    """The opened plan made and stored, or failed with why."""
    started = time.monotonic()
    try:
        summary, stops = _plan_city(uow, command, now, planner)
    except Exception as error:
        log.exception("rebalancing %s failed", command.city_id)
        with uow() as unit:
            ended = datetime.now(now.tzinfo)
            unit.rebalancing.end_plan(
                plan_id, PlanState.FAILED, ended, error=str(error) or repr(error)
            )
            unit.commit()
        _run_ended(command, PlanState.FAILED, started)
        return
    with uow() as unit:
        unit.rebalancing.add_stops(plan_id, stops)
        ended = datetime.now(now.tzinfo)
        unit.rebalancing.end_plan(plan_id, PlanState.READY, ended, summary=summary)
        unit.commit()
    _run_ended(command, PlanState.READY, started)


def _run_ended(command: StartRun, state: PlanState, started: float) -> None:
    seconds = time.monotonic() - started
    news = RebalancingRunEnded(command.city_id, command.trigger.value, state.value, seconds)
    announce(rebalancing_run_ended, news)


def run(
    uow: Callable[[], UnitOfWork], command: StartRun, now: datetime, planner: Planner
) -> uuid.UUID:
    """Open a run and make its plan, waiting for it (the command line)."""
    plan_id = open_run(uow(), command, now)
    make_plan(uow, plan_id, command, now, planner)
    return plan_id


def read_night(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> tuple[TruckFleet, CityNight]:
    """The city's trucks, and its sites against the coming morning's targets."""
    with uow:
        fleet = uow.rebalancing.fleet(city_id)
        zone = uow.rebalancing.timezone(city_id)
        if fleet is None or zone is None:
            raise no_fleet(city_id)
        morning = demand.coming_morning(now, ZoneInfo(zone))
        first_day = uow.rebalancing.first_trip_day(city_id) or morning
        since = morning - timedelta(days=demand.HISTORY_DAYS)
        by_zone, by_cell = uow.rebalancing.morning_starts(
            city_id, since, demand.MORNING_HOURS, CELL_DEGREES
        )
        unmet = NO_UNMET_DEMAND
        if fleet.unmet_demand_weight > 0:
            unmet_by_zone, unmet_by_cell = uow.rebalancing.morning_unmet_searches(
                city_id, since, demand.MORNING_HOURS, CELL_DEGREES
            )
            unmet = UnmetDemand(fleet.unmet_demand_weight, unmet_by_zone, unmet_by_cell)
        zones = uow.rebalancing.hotspots(city_id)
        bikes = uow.rebalancing.parked_bikes(city_id, now, policy)
    return fleet, city_night(zones, by_zone, by_cell, bikes, morning, first_day, unmet)


def _plan_city(
    uow: Callable[[], UnitOfWork], command: StartRun, now: datetime, planner: Planner
) -> tuple[Summary, list[PlannedStop]]:
    fleet, city = read_night(uow(), command.city_id, now, planner.policy)
    night, distances = _night(city, fleet, planner.routing)
    limit = command.time_limit_seconds or fleet.time_limit_seconds
    started = time.perf_counter()
    plan = solve(
        night.problem,
        limit,
        planner.workers,
        seed=command.seed,
        solution_limit=command.solution_limit,
    )
    seconds = time.perf_counter() - started
    error = demand.error_before(city.starts, city.morning, city.first_day)
    summary = plans.summary(city.sites, night, plan, city.morning, error, seconds, command.seed)
    summary["distances"] = distances
    return summary, plans.planned_stops(city.sites, night, plan)


def _night(city: CityNight, fleet: TruckFleet, routing: RoutingService) -> tuple[Night, str]:
    """The routing problem, and which distances it is on: the fleet's routing service, or
    great circles without one. When the service fails, the plan is made on great circles
    too: a plan on straight lines beats no plan in the morning; the summary says so."""
    trucks = _trucks(fleet)
    if fleet.routing_url is None:
        return night_problem(city.sites, trucks, GreatCircle()), "great circle"
    try:
        road = routing.distances(fleet.routing_url)
        return night_problem(city.sites, trucks, road), "road routing service"
    except DistancesUnavailable as failure:
        log.warning("%s: distances unavailable, using great circles: %s", fleet.city_id, failure)
        night = night_problem(city.sites, trucks, GreatCircle())
        return night, f"great circle (the routing service failed: {failure})"


def _trucks(fleet: TruckFleet) -> Trucks:
    return Trucks(
        depot=fleet.depot,
        capacities=[int(truck.capacity) for truck in fleet.trucks],
        shift_seconds=[int(float(truck.shift_hours) * 3600) for truck in fleet.trucks],
        speed_m_per_s=fleet.speed_kph / 3.6,
        depot_stock=fleet.depot_stock,
    )


def due_cities(uow: UnitOfWork, now: datetime) -> list[str]:
    """Cities whose nightly hour (local time) has come and that have no nightly plan since
    (one missed while the job was down is caught up: rental.domain.rebalancing)."""
    due = []
    with uow:
        for fleet in uow.rebalancing.fleets():
            zone = uow.rebalancing.timezone(fleet.city_id)
            city = uow.cities.get(fleet.city_id)
            if zone is None or city is None or city.is_retired:
                continue
            nightly_time = fleet.latest_nightly_time(now, ZoneInfo(zone))
            last = uow.rebalancing.latest_plan(fleet.city_id, RunTrigger.NIGHTLY)
            if nightly_run_is_due(last, nightly_time, now):
                due.append(fleet.city_id)
    return due


def no_fleet(city_id: str) -> NotFound:
    return NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")


def _under_way() -> Conflict:
    return Conflict("a rebalancing run for this city is under way", "rebalancing_running")
