"""Operators' rebalancing: trucks, runs of the job, the latest plan (with its routes as
GeoJSON for the map), and drivers marking stops done."""

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, request

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.api.auth import requires
from rental.api.common import json_body, parse_uuid, platform
from rental.api.rebalancing_views import fleet_view, plan_view
from rental.domain.errors import InvalidInput
from rental.domain.rebalancing import PlanState, RunTrigger, TruckFleet, TruckSpec
from rental.domain.riders import Role
from rental.domain.trace import position_of
from rental.services import (
    rebalancing_execution,
    rebalancing_fleets,
    rebalancing_plans,
    rebalancing_runs,
)
from rental.services.rebalancing_commands import ConfigureFleet, MarkStopDone, StartRun

blueprint = Blueprint("rebalancing", __name__, url_prefix="/api/v1/ops/rebalancing")

FLEET_LIMITS = {
    "capacity": (1, 200),
    "shift_hours": (0.5, 14),
    "speed_kph": (5, 90),
    "nightly_hour": (0, 23),
    "time_limit_seconds": (1, 3600),
    "depot_stock": (0, 100_000),
}
MAX_TRUCKS = 500
# Trucks and stops are numbered in PostgreSQL integers: a larger number in the path names
# no stop (404), rather than overflowing the query.
MAX_NUMBER = 2**31 - 1


@blueprint.put("/fleets/<city_id>")
@requires(Role.OPERATOR)
def configure_fleet(city_id: str) -> dict[str, Any]:
    """`{depot: {lon, lat}, trucks: [{capacity, shift_hours}], speed_kph, nightly_hour,
    time_limit_seconds, depot_stock?, routing_url?}`."""
    command = ConfigureFleet(fleet_from_json(city_id, json_body()))
    return fleet_view(rebalancing_fleets.configure(platform().uow(), command))


@blueprint.get("/fleets/<city_id>")
@requires(Role.OPERATOR)
def fleet(city_id: str) -> dict[str, Any]:
    return fleet_view(rebalancing_fleets.fleet_of(platform().uow(), city_id))


@blueprint.post("/plans")
@requires(Role.OPERATOR)
def run_now() -> tuple[dict[str, Any], int]:
    """`{city_id, time_limit_seconds?, seed?, solutions?}`: a run starts now, in the
    background; 409 while another run for the city is under way. A seed makes the plan
    repeatable (the summary's `solver.repeatable` says whether it was)."""
    command = run_from_json(json_body())
    p = platform()
    planner = rebalancing_runs.Planner(p.config.service_policy(), p.routing)
    plan_id, _ = rebalancing_runs.start(p.uow, command, p.now(), planner)
    return {"id": str(plan_id), "city_id": command.city_id, "state": PlanState.RUNNING.value}, 202


@blueprint.get("/plans/latest")
@requires(Role.OPERATOR)
def latest() -> dict[str, Any]:
    city_id = request.args.get("city_id")
    if not city_id:
        raise InvalidInput("city_id is required", "invalid_city")
    return plan_view(rebalancing_plans.latest_plan(platform().uow(), city_id))


@blueprint.get("/plans/<plan_id>")
@requires(Role.OPERATOR)
def one_plan(plan_id: str) -> dict[str, Any]:
    return plan_view(rebalancing_plans.plan_details(platform().uow(), parse_uuid(plan_id, "plan")))


@blueprint.post(
    f"/plans/<plan_id>/trucks/<int(max={MAX_NUMBER}):truck>/stops/<int(max={MAX_NUMBER}):seq>/done"
)
@requires(Role.OPERATOR)
def stop_done(plan_id: str, truck: int, seq: int) -> dict[str, Any]:
    """The driver finished this stop: its bikes are on the truck, or back on the street."""
    p = platform()
    command = MarkStopDone(parse_uuid(plan_id, "plan"), truck, seq)
    done = rebalancing_execution.mark_stop_done(p.uow(), command, p.now())
    return {"moved": done.moved, "not_moved": done.not_moved, "already_done": done.already_done}


def run_from_json(body: dict[str, Any]) -> StartRun:
    city_id = body.get("city_id")
    if not isinstance(city_id, str):
        raise InvalidInput("city_id is required", "invalid_city")
    limit = body.get("time_limit_seconds")
    if limit is not None and (not isinstance(limit, int | float) or not 1 <= limit <= 3600):
        raise InvalidInput("time_limit_seconds is from 1 to 3600", "invalid_time_limit")
    seed = body.get("seed")
    if seed is not None and (type(seed) is not int or not 0 <= seed < 2**31):
        raise InvalidInput("seed is a whole number from 0 to 2^31 - 1", "invalid_seed")
    solutions = body.get("solutions", DEFAULT_SOLUTION_LIMIT)
    if type(solutions) is not int or not 1 <= solutions <= 1_000_000:
        raise InvalidInput("solutions is a whole number from 1 to 1000000", "invalid_solutions")
    return StartRun(city_id, RunTrigger.OPERATOR, limit, seed=seed, solution_limit=solutions)


def fleet_from_json(city_id: str, body: dict[str, Any]) -> TruckFleet:
    """A city's trucks as an operator sends them; each wrong field named."""
    depot = body.get("depot")
    where = position_of(depot.get("lon"), depot.get("lat")) if isinstance(depot, dict) else None
    if where is None:
        raise InvalidInput("depot is {lon, lat} in WGS 84 degrees", "invalid_depot")
    trucks = body.get("trucks")
    if not isinstance(trucks, list) or not 1 <= len(trucks) <= MAX_TRUCKS:
        raise InvalidInput(f"trucks is a list of 1 to {MAX_TRUCKS} trucks", "invalid_trucks")
    checked = tuple(
        TruckSpec(
            capacity=int(_number(truck, "capacity", f"trucks[{n}].")),
            shift_hours=_number(truck, "shift_hours", f"trucks[{n}]."),
        )
        for n, truck in enumerate(trucks)
    )
    return TruckFleet(
        city_id=city_id,
        depot=where,
        trucks=checked,
        speed_kph=_number(body, "speed_kph"),
        nightly_hour=int(_number(body, "nightly_hour")),
        time_limit_seconds=int(_number(body, "time_limit_seconds")),
        depot_stock=int(_number({"depot_stock": 0, **body}, "depot_stock")),
        routing_url=_routing_url(body.get("routing_url")),
    )


def _number(body: object, name: str, where: str = "") -> float:
    low, high = FLEET_LIMITS[name]
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"{where}{name} is a number from {low} to {high}", "invalid_fleet")
    return float(value)


def _routing_url(value: object) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value) if isinstance(value, str) and len(value) <= 500 else None
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        return parts.geturl().rstrip("/")
    raise InvalidInput(
        "routing_url is the http(s) base of an OSRM-style table API", "invalid_routing_url"
    )
