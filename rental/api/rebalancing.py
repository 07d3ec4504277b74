"""Operators' rebalancing: trucks, runs of the job, the latest plan (with its routes as
GeoJSON for the map), and drivers marking stops done."""

from typing import Any

from flask import Blueprint, request

from rebalancing import execution, fleet_setup, job, solver
from rebalancing.plans import plan_view
from rental.api.auth import requires
from rental.api.common import json_body, parse_uuid, platform
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.riders import Role

blueprint = Blueprint("rebalancing", __name__, url_prefix="/api/v1/ops/rebalancing")


@blueprint.put("/fleets/<city_id>")
@requires(Role.OPERATOR)
def configure_fleet(city_id: str) -> dict[str, Any]:
    """`{depot: {lon, lat}, trucks: [{capacity, shift_hours}], speed_kph, nightly_hour,
    time_limit_seconds}`."""
    return fleet_setup.configure(platform().uow(), city_id, json_body())


@blueprint.get("/fleets/<city_id>")
@requires(Role.OPERATOR)
def fleet(city_id: str) -> dict[str, Any]:
    return fleet_setup.fleet_of(platform().uow(), city_id)


@blueprint.post("/plans")
@requires(Role.OPERATOR)
def run_now() -> tuple[dict[str, Any], int]:
    """`{city_id, time_limit_seconds?, seed?, solutions?}`: a run starts now, in the
    background; 409 while another run for the city is under way. A seed makes the plan
    repeatable (the summary's `solver.repeatable` says whether it was)."""
    body = json_body()
    city_id = body.get("city_id")
    if not isinstance(city_id, str):
        raise InvalidInput("city_id is required", "invalid_city")
    limit = body.get("time_limit_seconds")
    if limit is not None and (not isinstance(limit, int | float) or not 1 <= limit <= 3600):
        raise InvalidInput("time_limit_seconds is from 1 to 3600", "invalid_time_limit")
    seed = body.get("seed")
    if seed is not None and (type(seed) is not int or not 0 <= seed < 2**31):
        raise InvalidInput("seed is a whole number from 0 to 2^31 - 1", "invalid_seed")
    solutions = body.get("solutions", solver.DEFAULT_SOLUTION_LIMIT)
    if type(solutions) is not int or not 1 <= solutions <= 1_000_000:
        raise InvalidInput("solutions is a whole number from 1 to 1000000", "invalid_solutions")
    p = platform()
    settings = job.Settings(p.config.service_policy(), limit, seed=seed, solution_limit=solutions)
    plan_id, _ = job.start(p.uow, city_id, p.now(), "operator", settings)
    return {"id": str(plan_id), "city_id": city_id, "state": "running"}, 202


@blueprint.get("/plans/latest")
@requires(Role.OPERATOR)
def latest() -> dict[str, Any]:
    city_id = request.args.get("city_id")
    if not city_id:
        raise InvalidInput("city_id is required", "invalid_city")
    with platform().uow() as uow:
        plan = uow.rebalancing.latest_plan(city_id)
        if plan is None:
            raise NotFound(f"no plan for {city_id} yet", "plan_not_found")
        return plan_view(plan, uow.rebalancing.stops(plan["id"]), uow.rebalancing.fleet(city_id))


@blueprint.get("/plans/<plan_id>")
@requires(Role.OPERATOR)
def one_plan(plan_id: str) -> dict[str, Any]:
    with platform().uow() as uow:
        plan = uow.rebalancing.plan(parse_uuid(plan_id, "plan"))
        if plan is None:
            raise NotFound("no such plan", "plan_not_found")
        stops = uow.rebalancing.stops(plan["id"])
        return plan_view(plan, stops, uow.rebalancing.fleet(plan["city_id"]))


@blueprint.post("/plans/<plan_id>/trucks/<int:truck>/stops/<int:seq>/done")
@requires(Role.OPERATOR)
def stop_done(plan_id: str, truck: int, seq: int) -> dict[str, Any]:
    """The driver finished this stop: its bikes are on the truck, or back on the street."""
    p = platform()
    done = execution.mark_stop_done(p.uow(), parse_uuid(plan_id, "plan"), truck, seq, p.now())
    return {"moved": done.moved, "not_moved": done.not_moved, "already_done": done.already_done}
