"""One run of the nightly rebalancing for a city: read its night, make a plan, store it.

A run is a row in `rebalancing_plans`: created `running` (a second run of the same city
is refused while one is under way), then `ready` with its stops, or `failed` with why.
The search itself runs in processes of its own, so the API that starts a run stays free.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rebalancing import demand
from rebalancing.city import Fleet, Night, Site, night_problem, outcome
from rebalancing.distances import DistanceSource, DistancesUnavailable, GreatCircle
from rebalancing.osrm import OsrmTable
from rebalancing.problem import Plan, route_cost
from rebalancing.solver import DEFAULT_SOLUTION_LIMIT, solve
from rebalancing.state import CELL_DEGREES, Hotspot, ParkedBike, cell_of, night_sites
from rental.adapters.db import UnitOfWork
from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy

log = logging.getLogger(__name__)

# A corner outside the operator's hotspots becomes one when this many trips start there on
# a morning like the coming one (by the same forecast).
MIN_CORNER_STARTS = 3.0
HELD_OUT_DAYS = 7
HISTORY_DAYS = 7 * (demand.WEEKS_BACK + 2)


@dataclass(frozen=True)
class Settings:
    policy: ServicePolicy
    time_limit_seconds: float | None = None  # None: the fleet's own setting
    distances: DistanceSource | None = None  # None: the fleet's routing service, if any
    workers: int = 2
    seed: int | None = None  # a repeatable run (see solver.solve)
    solution_limit: int = DEFAULT_SOLUTION_LIMIT


def start(
    uow: Callable[[], UnitOfWork], city_id: str, now: datetime, trigger: str, settings: Settings
) -> tuple[uuid.UUID, threading.Thread]:
    """Open a run (Conflict if one is under way) and make its plan in a background thread."""
    with uow() as unit:
        if unit.rebalancing.fleet(city_id) is None:
            raise NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")
        plan_id, _ = unit.rebalancing.start_run(city_id, trigger, now)
        unit.commit()
    worker = threading.Thread(
        target=_make_plan, args=(uow, city_id, plan_id, now, settings), name=f"rebalance-{city_id}"
    )
    worker.start()
    return plan_id, worker


def run(
    uow: Callable[[], UnitOfWork], city_id: str, now: datetime, trigger: str, settings: Settings
) -> uuid.UUID:
    """The same, waiting for the plan (the command line, the nightly schedule)."""
    plan_id, worker = start(uow, city_id, now, trigger, settings)
    worker.join()
    return plan_id


def _make_plan(
    uow: Callable[[], UnitOfWork],
    city_id: str,
    plan_id: uuid.UUID,
    now: datetime,
    settings: Settings,
) -> None:
    try:
        summary, stops = _plan_city(uow, city_id, now, settings)
    except Exception as error:
        log.exception("rebalancing %s failed", city_id)
        with uow() as unit:
            unit.rebalancing.fail_run(plan_id, datetime.now(now.tzinfo), str(error) or repr(error))
            unit.commit()
        return
    with uow() as unit:
        unit.rebalancing.finish_run(plan_id, datetime.now(now.tzinfo), summary, stops)
        unit.commit()


@dataclass(frozen=True)
class CityNight:
    """What a run reads of the city: its sites against the coming morning's targets."""

    morning: date
    sites: list[Site]
    starts: dict[str, dict[date, int]]  # morning trip starts per hotspot and day
    first_day: date
    fleet: dict[str, Any]


def read_night(
    uow: Callable[[], UnitOfWork], city_id: str, now: datetime, policy: ServicePolicy
) -> CityNight:
    with uow() as unit:
        fleet_row = unit.rebalancing.fleet(city_id)
        zone = unit.rebalancing.timezone(city_id)
        if fleet_row is None or zone is None:
            raise NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")
        morning = coming_morning(now, ZoneInfo(zone))
        first_day = unit.rebalancing.first_trip_day(city_id) or morning
        by_zone, by_cell = unit.rebalancing.morning_starts(
            city_id, morning - timedelta(days=HISTORY_DAYS), demand.MORNING_HOURS, CELL_DEGREES
        )
        zones = unit.rebalancing.hotspots(city_id)
        bikes = unit.rebalancing.parked_bikes(city_id, now, policy)
    places = [Hotspot(str(z["id"]), z["name"], (z["lon"], z["lat"]), 0) for z in zones]
    places += _busy_corners(by_cell, morning, first_day)
    starts = {**by_zone, **{_cell_key(cell): days for cell, days in by_cell.items()}}
    hotspots = [
        Hotspot(h.key, h.name, h.center, demand.target(starts.get(h.key, {}), morning, first_day))
        for h in places
    ]
    keys = {h.key for h in hotspots}
    sites = night_sites(hotspots, [_parked(row, keys) for row in bikes])
    return CityNight(morning, sites, starts, first_day, fleet_row)


def _plan_city(
    uow: Callable[[], UnitOfWork], city_id: str, now: datetime, settings: Settings
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    city = read_night(uow, city_id, now, settings.policy)
    fleet = _fleet(city.fleet)
    source = settings.distances or _distances_of(city.fleet)
    try:
        night = night_problem(city.sites, fleet, source)
        distances = "road routing service" if city.fleet["routing_url"] else "great circle"
    except DistancesUnavailable as failure:
        # A plan on straight-line distances beats no plan in the morning; the summary says so.
        log.warning("%s: distances unavailable, using great circles: %s", city_id, failure)
        night = night_problem(city.sites, fleet, GreatCircle())
        distances = f"great circle (the routing service failed: {failure})"
    limit = settings.time_limit_seconds or city.fleet["time_limit_seconds"]
    started = time.perf_counter()
    plan = solve(
        night.problem,
        limit,
        settings.workers,
        seed=settings.seed,
        solution_limit=settings.solution_limit,
    )
    seconds = time.perf_counter() - started
    held_out = [city.morning - timedelta(days=day) for day in range(1, HELD_OUT_DAYS + 1)]
    error = demand.held_out_error(city.starts, held_out, city.first_day)
    summary = _summary(city.sites, night, plan, city.morning, error, seconds, settings.seed)
    summary["distances"] = distances
    return summary, _stops(city.sites, night, plan)


def _distances_of(fleet: dict[str, Any]) -> DistanceSource:
    return OsrmTable(fleet["routing_url"]) if fleet["routing_url"] else GreatCircle()


def coming_morning(now: datetime, zone: ZoneInfo) -> date:
    """The morning the trucks work for: today's before 06:00 local time, else tomorrow's."""
    local = now.astimezone(zone)
    return local.date() if local.hour < demand.MORNING_HOURS[0] else local.date() + timedelta(1)


def _busy_corners(
    by_cell: dict[tuple[int, int], dict[date, int]], morning: date, first_day: date
) -> list[Hotspot]:
    return [
        Hotspot(
            _cell_key(cell),
            f"busy corner {cell[0]}:{cell[1]}",
            ((cell[0] + 0.5) * CELL_DEGREES, (cell[1] + 0.5) * CELL_DEGREES),
            0,
        )
        for cell, days in sorted(by_cell.items())
        if demand.forecast(days, morning, first_day) >= MIN_CORNER_STARTS
    ]


def _cell_key(cell: tuple[int, int]) -> str:
    return f"cell:{cell[0]}:{cell[1]}"


def _parked(row: dict[str, Any], hotspot_keys: set[str]) -> ParkedBike:
    position = (row["lon"], row["lat"])
    spot = str(row["hotspot"]) if row["hotspot"] is not None else _cell_key(cell_of(position))
    return ParkedBike(
        str(row["id"]), position, spot if spot in hotspot_keys else None, row["battery_pct"]
    )


def _fleet(row: dict[str, Any]) -> Fleet:
    trucks = row["trucks"]
    return Fleet(
        depot=(row["depot_lon"], row["depot_lat"]),
        capacities=[int(truck["capacity"]) for truck in trucks],
        shift_seconds=[int(float(truck["shift_hours"]) * 3600) for truck in trucks],
        speed_m_per_s=row["speed_kph"] / 3.6,
        depot_stock=row["depot_stock"],
    )


def _summary(
    sites: list[Site],
    night: Night,
    plan: Plan,
    morning: date,
    error: demand.ForecastError,
    seconds: float,
    seed: int | None,
) -> dict[str, Any]:
    result = outcome(sites, night, plan)
    return {
        "morning": morning.isoformat(),
        "sites": [
            {
                "name": site.name,
                "lon": site.position[0],
                "lat": site.position[1],
                "surplus": site.surplus,
            }
            for site in sites
        ],
        "imbalance_before": result.imbalance_before,
        "imbalance_after": result.imbalance_after,
        "bikes_moved": result.bikes_moved,
        "truck_metres": result.truck_metres,
        "trucks_used": sum(1 for route in plan.routes if route),
        "trucks": [
            {
                "truck": truck + 1,
                "metres": route_cost(night.problem.costs, 0, route),
                "seconds": route_cost(night.problem.seconds or night.problem.costs, 0, route),
                "stops": len(route),
            }
            for truck, route in enumerate(plan.routes)
            if route
        ],
        "stops_left_out": len(plan.skipped),
        "forecast_error": error.__dict__,
        "solver": {
            "seconds": round(seconds, 1),
            "first_plan_seconds": plan.first_found_seconds,
            "seed": seed,
            "repeatable": plan.repeatable,
        },
    }


def _stops(sites: list[Site], night: Night, plan: Plan) -> list[dict[str, Any]]:
    stops = []
    for truck, route in enumerate(plan.routes):
        previous = 0
        for seq, node in enumerate(route, start=1):
            stop = night.site_of(node)
            site = sites[stop.site]
            stops.append(
                {
                    "truck": truck + 1,
                    "seq": seq,
                    "site": site.name,
                    "position": site.position,
                    "bikes": stop.bikes,
                    "asset_ids": list(stop.bike_ids),
                    "metres_from_previous": night.problem.costs[previous][node],
                }
            )
            previous = node
    return stops


# Runs a night's plan at most once per this much time, whatever the clock does.
NIGHTLY_COOLDOWN = timedelta(hours=20)


def due_cities(uow: Callable[[], UnitOfWork], now: datetime) -> list[str]:
    """Cities whose nightly hour (local time) it is and that have no nightly plan yet."""
    due = []
    with uow() as unit:
        for fleet in unit.rebalancing.fleets():
            zone = unit.rebalancing.timezone(fleet["city_id"])
            if zone is None or now.astimezone(ZoneInfo(zone)).hour != fleet["nightly_hour"]:
                continue
            last = unit.rebalancing.latest_plan(fleet["city_id"], trigger="nightly")
            if last is None or now - last["started_at"] >= NIGHTLY_COOLDOWN:
                due.append(fleet["city_id"])
    return due
