"""Nearby vehicles for the rider's map; public, like the GBFS feed that shows the same.
And the bell of the vehicle a rider holds or rides, to find it by."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.answers import Price, price
from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    UNAVAILABLE,
    Absent,
    AnswerModel,
    LatitudeParam,
    LongitudeParam,
    QueryModel,
    RequestModel,
    signed_in,
)
from rental.api.funnel import app_visit
from rental.api.limits import account_of_request, first_time_this_hour
from rental.domain.fleet import AssetKind
from rental.domain.gbfs import current_range_m
from rental.domain.riders import Role
from rental.domain.unmet_demand import cell_of
from rental.services import funnel, ringing, vehicles
from rental.services.commands.assets import SearchNearby
from rental.services.commands.funnel import NothingNearby
from rental.services.commands.rides import RingVehicle
from rental.services.read_models import NearbyVehicle

VEHICLES = Tag(name="vehicles", description="what riders can take, nearest first")
blueprint = APIBlueprint("vehicles", __name__, url_prefix="/api/v1/vehicles", abp_tags=[VEHICLES])
KIND = "|".join(kind.value for kind in AssetKind)
# Kinds as one comma-separated value (`kind=bike,ebike`), each one of AssetKind; empty: all.
KINDS = rf"^(({KIND})(,({KIND}))*)?$"


class NearbyQuery(QueryModel):
    lon: LongitudeParam
    lat: LatitudeParam
    radius_m: float = Field(500, ge=1, le=vehicles.MAX_RADIUS_M, allow_inf_nan=False)
    kind: str | Absent = Field(None, pattern=KINDS, description="e.g. `bike,ebike`; all if absent")
    limit: int = Field(20, ge=1, le=vehicles.MAX_RESULTS)

    def command(self) -> SearchNearby:
        kinds = [AssetKind(kind) for kind in self.kind.split(",")] if self.kind else None
        return SearchNearby(self.lon, self.lat, self.radius_m, kinds, self.limit)


def nearby_search(args: Mapping[str, str]) -> SearchNearby:
    """The search a query string asks for, as the endpoint reads it (pydantic's
    ValidationError when it does not fit)."""
    return NearbyQuery.model_validate(dict(args)).command()


class Position(AnswerModel):
    lon: float
    lat: float


class NearbyAnswer(AnswerModel):
    code: str
    kind: AssetKind
    city_id: str
    position: Position
    distance_m: float
    battery_pct: int | None
    range_m: int | None = Field(
        None, description="e-bikes: metres its charge carries it (GBFS current_range_meters)"
    )
    price: Price | None = Field(description="none when its city has no plan for its kind")


class Nearby(AnswerModel):
    vehicles: list[NearbyAnswer] = Field(description="nearest first")


def nearby_answer(vehicle: NearbyVehicle) -> NearbyAnswer:
    plan = vehicle.pricing_plan
    return NearbyAnswer(
        code=vehicle.code,
        kind=vehicle.kind,
        city_id=vehicle.city_id,
        position=Position(lon=vehicle.lon, lat=vehicle.lat),
        distance_m=round(vehicle.distance_m, 1),
        battery_pct=vehicle.battery_pct,
        range_m=current_range_m(vehicle.kind.value, vehicle.battery_pct),
        price=None if plan is None else price(plan.tariff),
    )


@blueprint.get("/nearby", responses={200: Nearby})
def nearby(query: NearbyQuery) -> dict[str, Any]:
    """Vehicles and items riders can take now within `radius_m` metres, nearest first. A
    signed-in account's search that finds none is counted, coarsened to its map cell and
    hour, for the operators' demand map: once per account, cell and hour, so that no one
    caller can heat a corner (the map may steer the trucks); strangers' searches are not."""
    p = platform()
    found = vehicles.nearby(p.lagging_reader(), query.command(), p.now(), p.config.service_policy())
    if not found:
        _count_unmet(query.command(), p.now())
        visit = app_visit()
        if visit is not None:  # the rider funnel's `nothing_nearby`
            funnel.nothing_nearby(p.uow(), NothingNearby(query.lon, query.lat, visit), p.now())
    return Nearby(vehicles=[nearby_answer(vehicle) for vehicle in found]).json()


def _count_unmet(search: SearchNearby, now: datetime) -> None:
    searcher = account_of_request()
    if searcher is None:
        return
    cell_x, cell_y = cell_of(search.lon, search.lat)
    if first_time_this_hour("unmet-search", searcher, str(cell_x), str(cell_y)):
        platform().unmet_searches.add(search, now)


class VehiclePath(RequestModel):
    asset_id: UUID


class RingAnswer(AnswerModel):
    command_id: UUID
    asset_id: UUID
    expires_at: datetime = Field(description="the lock refuses the command after this")


@blueprint.post(
    "/<asset_id>/ring",
    security=BEARER,
    responses={202: RingAnswer, **SIGNED_IN, **NOT_FOUND, **CONFLICT, **UNAVAILABLE},
)
@signed_in(Role.RIDER)
def ring(path: VehiclePath) -> tuple[dict[str, Any], int]:
    """Ring the bell of the vehicle (`asset_id`, as a hold or a rental names it) the rider
    holds or rides: 202 once the signed `ring` is on its way to the lock (it rings within
    seconds, docs/lock-protocol.md §4.4). 403 `not_your_vehicle` for any other vehicle;
    404 `asset_not_found`; 409 `lock_offline`; 503 `lock_unreachable`; 429 past
    `RATE_LIMIT_RINGS`."""
    p = platform()
    command = RingVehicle(current_user_id(), path.asset_id)
    sent = ringing.ring_vehicle(
        p.uow(), p.lock_commands, command, p.now(), p.config.service_policy().silence
    )
    answer = RingAnswer(
        command_id=sent.command_id, asset_id=sent.asset_id, expires_at=sent.expires_at
    )
    return answer.json(), 202
