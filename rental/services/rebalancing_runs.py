"""Runs of the nightly rebalancing: a run opens a plan for a city (one run at a time per
city), reads the city's night, makes the plan with OR-Tools and stores it `ready` with its
stops, or `failed` with why. The nightly schedule starts a run for each city at its hour.

The search runs in processes of its own (`rebalancing.solver`), so an API that starts a run
in a background thread stays free.
"""

import logging
import threading
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
from rebalancing.state import CELL_DEGREES, CityNight, city_night
from rental.domain.errors import Conflict, NotFound, RentalError
from rental.domain.fleet import ServicePolicy
from rental.domain.rebalancing import (
    ABANDONED_ERROR,
    PlanState,
    RunTrigger,
    TruckFleet,
    nightly_run_is_due,
)
from rental.services.rebalancing_commands import StartRun
from rental.services.signals import RebalancingRunEnded, announce, rebalancing_run_ended
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


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


def open_run(uow: UnitOfWork, command: StartRun, now: datetime) -> uuid.UUID:
    """A new plan, running; Conflict while another run of the city is under way."""
    with uow:
        if uow.rebalancing.fleet(command.city_id) is None:
            raise _no_fleet(command.city_id)
        running = uow.rebalancing.running_plan(command.city_id)
        if running is not None:
            if not running.is_abandoned(now):
                raise _under_way()
            uow.rebalancing.end_plan(running.id, PlanState.FAILED, now, error=ABANDONED_ERROR)
        plan = uow.rebalancing.add_plan(command.city_id, command.trigger, now)
        if plan is None:  # a run started meanwhile
            raise _under_way()
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


def start(
    uow: Callable[[], UnitOfWork], command: StartRun, now: datetime, planner: Planner
) -> tuple[uuid.UUID, threading.Thread]:
    """Open a run and make its plan in a background thread."""
    plan_id = open_run(uow(), command, now)
    worker = threading.Thread(
        target=make_plan,
        args=(uow, plan_id, command, now, planner),
        name=f"rebalance-{command.city_id}",
    )
    worker.start()
    return plan_id, worker


def run(
    uow: Callable[[], UnitOfWork], command: StartRun, now: datetime, planner: Planner
) -> uuid.UUID:
    """The same, waiting for the plan (the command line, the nightly schedule)."""
    plan_id, worker = start(uow, command, now, planner)
    worker.join()
    return plan_id


def read_night(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> tuple[TruckFleet, CityNight]:
    """The city's trucks, and its sites against the coming morning's targets."""
    with uow:
        fleet = uow.rebalancing.fleet(city_id)
        zone = uow.rebalancing.timezone(city_id)
        if fleet is None or zone is None:
            raise _no_fleet(city_id)
        morning = demand.coming_morning(now, ZoneInfo(zone))
        first_day = uow.rebalancing.first_trip_day(city_id) or morning
        since = morning - timedelta(days=demand.HISTORY_DAYS)
        by_zone, by_cell = uow.rebalancing.morning_starts(
            city_id, since, demand.MORNING_HOURS, CELL_DEGREES
        )
        zones = uow.rebalancing.hotspots(city_id)
        bikes = uow.rebalancing.parked_bikes(city_id, now, policy)
    return fleet, city_night(zones, by_zone, by_cell, bikes, morning, first_day)


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


def run_due_cities(
    uow: Callable[[], UnitOfWork], clock: Callable[[], datetime], planner: Planner
) -> None:
    """One look at the clock of the nightly schedule: each city due gets its nightly run."""
    for city_id in due_cities(uow(), clock()):
        try:
            plan_id = run(uow, StartRun(city_id, RunTrigger.NIGHTLY), clock(), planner)
            log.info("%s: nightly plan %s made", city_id, plan_id)
        except RentalError as error:
            log.warning("%s: no nightly plan: %s", city_id, error.message)


def _no_fleet(city_id: str) -> NotFound:
    return NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")


def _under_way() -> Conflict:
    return Conflict("a rebalancing run for this city is under way", "rebalancing_running")
