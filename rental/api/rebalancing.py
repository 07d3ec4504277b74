"""Operators' rebalancing: trucks, runs of the job, the latest plan (with its routes as
GeoJSON for the map), and drivers marking stops done."""

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, StrictInt, StringConstraints

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.api.common import NOT_MODIFIED, platform, unless_unchanged
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityId,
    CityPath,
    Latitude,
    Longitude,
    RequestModel,
    domain_rule,
    explained,
    signed_in,
)
from rental.api.rebalancing_views import FleetAnswer, PlanAnswer, fleet_view, plan_view
from rental.domain.errors import InvalidInput
from rental.domain.rebalancing import PlanState, RunTrigger, TruckFleet, TruckSpec
from rental.domain.riders import Role
from rental.services import (
    rebalancing_execution,
    rebalancing_fleets,
    rebalancing_plans,
    rebalancing_requests,
)
from rental.services.rebalancing_commands import ConfigureFleet, MarkStopDone, StartRun

REBALANCING = Tag(name="rebalancing", description="operators: trucks, nightly plans, stops done")
blueprint = APIBlueprint(
    "rebalancing",
    __name__,
    url_prefix="/api/v1/ops/rebalancing",
    abp_tags=[REBALANCING],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

MAX_TRUCKS = 500
MAX_ROUTING_URL = 500
# Trucks and stops are numbered in PostgreSQL integers.
MAX_NUMBER = 2**31 - 1
# One search that found nothing standing for more than a few rides would let a handful
# of searches move a truck.
MAX_UNMET_DEMAND_WEIGHT = 5


def _routing_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        return parts.geturl().rstrip("/")
    raise InvalidInput(
        "routing_url is the http(s) base of an OSRM-style table API", "invalid_routing_url"
    )


# Each number of a fleet within its bounds; all answer `invalid_fleet`, naming the field.
Capacity = Annotated[
    StrictInt, Field(ge=1, le=200), explained("capacity is a number from 1 to 200", "invalid_fleet")
]
ShiftHours = Annotated[
    float,
    Field(strict=True, ge=0.5, le=14, allow_inf_nan=False),
    explained("shift_hours is a number from 0.5 to 14", "invalid_fleet"),
]
SpeedKph = Annotated[
    float,
    Field(strict=True, ge=5, le=90, allow_inf_nan=False),
    explained("speed_kph is a number from 5 to 90", "invalid_fleet"),
]
NightlyHour = Annotated[
    StrictInt,
    Field(ge=0, le=23, description="the city's local hour"),
    explained("nightly_hour is a number from 0 to 23", "invalid_fleet"),
]
FleetTimeLimit = Annotated[
    StrictInt,
    Field(ge=1, le=3600, description="seconds the nightly run searches"),
    explained("time_limit_seconds is a number from 1 to 3600", "invalid_fleet"),
]
DepotStock = Annotated[
    StrictInt,
    Field(ge=0, le=100_000, description="bikes waiting at the depot to go out"),
    explained("depot_stock is a number from 0 to 100000", "invalid_fleet"),
]
RoutingUrl = Annotated[
    str,
    StringConstraints(max_length=MAX_ROUTING_URL, pattern=r"^https?://[^/?#\s\x00]+[^\x00]*$"),
    explained("routing_url is the http(s) base of an OSRM-style table API", "invalid_routing_url"),
    domain_rule(_routing_url),
    Field(description="the http(s) base of an OSRM-style table API; great circles without"),
]


UnmetDemandWeight = Annotated[
    float,
    Field(strict=True, ge=0, le=MAX_UNMET_DEMAND_WEIGHT, allow_inf_nan=False),
    explained(
        f"unmet_demand_weight is a number from 0 to {MAX_UNMET_DEMAND_WEIGHT}", "invalid_fleet"
    ),
    Field(
        description="trip starts each morning search that found no vehicle adds to its "
        "hotspot's forecast (docs/rebalancing.md); 0, the default: off"
    ),
]


class DepotRequest(RequestModel):
    lon: Longitude
    lat: Latitude


class TruckRequest(RequestModel):
    capacity: Capacity
    shift_hours: ShiftHours


class FleetRequest(RequestModel):
    """A city's trucks as an operator sends them; each wrong field named."""

    depot: Annotated[
        DepotRequest, explained("depot is {lon, lat} in WGS 84 degrees", "invalid_depot")
    ]
    trucks: Annotated[
        list[TruckRequest],
        Field(min_length=1, max_length=MAX_TRUCKS),
    ]
    speed_kph: SpeedKph
    nightly_hour: NightlyHour
    time_limit_seconds: FleetTimeLimit
    depot_stock: DepotStock = 0
    routing_url: RoutingUrl | None = None
    unmet_demand_weight: UnmetDemandWeight = 0.0

    def fleet(self, city_id: str) -> TruckFleet:
        return TruckFleet(
            city_id=city_id,
            depot=(self.depot.lon, self.depot.lat),
            trucks=tuple(TruckSpec(t.capacity, t.shift_hours) for t in self.trucks),
            speed_kph=self.speed_kph,
            nightly_hour=self.nightly_hour,
            time_limit_seconds=self.time_limit_seconds,
            depot_stock=self.depot_stock,
            routing_url=self.routing_url,
            unmet_demand_weight=self.unmet_demand_weight,
        )


@blueprint.put("/fleets/<city_id>", responses={200: FleetAnswer, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def configure_fleet(path: CityPath, body: FleetRequest) -> dict[str, Any]:
    """Set a city's trucks, depot and nightly run; 404 for a city that does not exist."""
    command = ConfigureFleet(body.fleet(path.city_id))
    return fleet_view(rebalancing_fleets.configure(platform().uow(), command)).json()


@blueprint.get("/fleets/<city_id>", responses={200: FleetAnswer, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def fleet(path: CityPath) -> dict[str, Any]:
    """A city's trucks; 404 `fleet_not_configured` before they are set."""
    return fleet_view(rebalancing_fleets.fleet_of(platform().uow(), path.city_id)).json()


class RunRequest(RequestModel):
    city_id: Annotated[CityId, explained("city_id is required", "invalid_city")]
    time_limit_seconds: (
        Annotated[
            float,
            Field(strict=True, ge=1, le=3600, allow_inf_nan=False),
            explained("time_limit_seconds is from 1 to 3600", "invalid_time_limit"),
            Field(description="seconds to search; the fleet's own when absent"),
        ]
        | None
    ) = None
    seed: (
        Annotated[
            StrictInt,
            Field(ge=0, le=2**31 - 1),
            explained("seed is a whole number from 0 to 2^31 - 1", "invalid_seed"),
            Field(description="makes the plan repeatable (the summary's `solver.repeatable`)"),
        ]
        | None
    ) = None
    solutions: Annotated[
        StrictInt,
        Field(ge=1, le=1_000_000),
        explained("solutions is a whole number from 1 to 1000000", "invalid_solutions"),
        Field(description="the search stops after this many improving solutions"),
    ] = DEFAULT_SOLUTION_LIMIT

    def command(self) -> StartRun:
        return StartRun(
            self.city_id,
            RunTrigger.OPERATOR,
            self.time_limit_seconds,
            seed=self.seed,
            solution_limit=self.solutions,
        )


class RunStarted(AnswerModel):
    id: UUID
    city_id: str
    state: PlanState


@blueprint.post("/plans", responses={202: RunStarted, **NOT_FOUND, **CONFLICT})
@signed_in(Role.OPERATOR)
def run_now(body: RunRequest) -> tuple[dict[str, Any], int]:
    """Ask for a city's plan now: 202 `queued`, with the plan's id. A planning worker
    (`python -m rebalancing worker`) takes it within seconds and makes it; `GET
    /plans/{id}` shows it `queued`, `running`, then `ready` or `failed`.

    409 `rebalancing_running` while another plan for the city is queued or under way; 404
    `fleet_not_configured` without trucks. A seed makes the plan repeatable."""
    command = body.command()
    p = platform()
    plan_id = rebalancing_requests.request_run(p.uow(), command, p.now())
    return RunStarted(id=plan_id, city_id=command.city_id, state=PlanState.QUEUED).json(), 202


class LatestPlanQuery(RequestModel):
    city_id: Annotated[CityId, explained("city_id is required", "invalid_city")]


@blueprint.get("/plans/latest", responses={200: PlanAnswer, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def latest(query: LatestPlanQuery) -> dict[str, Any]:
    """The city's newest plan, whatever its state; 404 `plan_not_found` before any."""
    details = rebalancing_plans.latest_plan(platform().uow(), query.city_id)
    return plan_view(details, current_app.config["DRIVER_MAP_LINK"]).json()


class RebalancingPlanPath(RequestModel):
    plan_id: UUID


@blueprint.get(
    "/plans/<plan_id>",
    responses={200: PlanAnswer, 304: NOT_MODIFIED, **NOT_FOUND},
    validate_response=False,  # a 304 has no body to check
)
@signed_in(Role.OPERATOR)
def one_plan(path: RebalancingPlanPath) -> Response:
    """One plan, with each truck's stops and the night as GeoJSON.

    With an ETag: 304 and no body for an If-None-Match that names the plan as it stands (the
    console follows the crews' progress this way)."""
    details = rebalancing_plans.plan_details(platform().uow(), path.plan_id)
    plan = plan_view(details, current_app.config["DRIVER_MAP_LINK"])
    return unless_unchanged(plan.json())


class StopPath(RequestModel):
    plan_id: UUID
    truck: Annotated[int, Field(ge=1, le=MAX_NUMBER, description="numbered from 1")]
    seq: Annotated[int, Field(ge=1, le=MAX_NUMBER, description="the stop's place in the route")]


class StopDoneAnswer(AnswerModel):
    moved: list[str] = Field(description="ids of the bikes that moved")
    not_moved: dict[str, str] = Field(description="asset id -> why it did not move")
    already_done: bool


@blueprint.post(
    "/plans/<plan_id>/trucks/<truck>/stops/<seq>/done", responses={200: StopDoneAnswer, **NOT_FOUND}
)
@signed_in(Role.OPERATOR)
def stop_done(path: StopPath) -> dict[str, Any]:
    """The driver finished this stop: its bikes are on the truck, or back on the street."""
    p = platform()
    command = MarkStopDone(path.plan_id, path.truck, path.seq)
    done = rebalancing_execution.mark_stop_done(p.uow(), command, p.now())
    return StopDoneAnswer(
        moved=done.moved, not_moved=done.not_moved, already_done=done.already_done
    ).json()
