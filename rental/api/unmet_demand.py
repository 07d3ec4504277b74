"""The operators' demand map of a city: where nearby searches found no vehicle over some of
its days, counted per grid cell, against where its vehicles riders could take stand now,
on the same grid (`rental.services.unmet_demand`).

GET /api/v1/ops/unmet-demand?city_id=demo[&first_day=2026-11-24][&last_day=2026-11-30]
"""

from datetime import date
from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    DAY_RULE,
    FIRST_DAY,
    LAST_DAY,
    NOT_FOUND,
    SIGNED_IN,
    Absent,
    AnswerModel,
    CityId,
    Day,
    QueryModel,
    explained,
    signed_in,
)
from rental.domain.riders import Role
from rental.domain.unmet_demand import CELL_DEGREES, CellCount
from rental.services.unmet_demand import DemandMap, ReadDemandMap, demand_map

DEMAND = Tag(name="demand", description="operators: where riders found no vehicle")
blueprint = APIBlueprint(
    "unmet_demand",
    __name__,
    url_prefix="/api/v1/ops",
    abp_tags=[DEMAND],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

DemandDay = Annotated[
    Day,
    explained(DAY_RULE, "invalid_days"),
    Field(description=f"a calendar day of the city, YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}"),
]


class DemandQuery(QueryModel):
    city_id: CityId
    first_day: DemandDay | Absent = Field(None, description="default: the week up to `last_day`")
    last_day: DemandDay | Absent = Field(None, description="default: the city's today")

    def command(self) -> ReadDemandMap:
        return ReadDemandMap(self.city_id, self.first_day, self.last_day)


class CellAnswer(AnswerModel):
    lon: float = Field(description="the cell's center, WGS 84")
    lat: float
    count: int


class DemandAnswer(AnswerModel):
    city_id: str
    time_zone: str
    first_day: date
    last_day: date
    cell_degrees: float = Field(description="the grid's cell, degrees of lon and of lat")
    searches: int = Field(description="searches that found no vehicle in the days, in all")
    unmet: list[CellAnswer] = Field(description="searches that found no vehicle, most first")
    vehicles: list[CellAnswer] = Field(description="vehicles riders could take now, most first")


@blueprint.get("/unmet-demand", responses={200: DemandAnswer, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def unmet_demand(query: DemandQuery) -> dict[str, Any]:
    """Nearby searches that found no vehicle in the city on `first_day` to `last_day` (its
    own calendar, both included; at most 92 days), summed per grid cell of about 140 m,
    and the vehicles riders could take now per cell of the same grid. No search names a
    rider: only its cell and hour are kept. 400 `invalid_days` for a day that is not one,
    `first_day` after `last_day` or a longer range; 404 `city_not_found`."""
    p = platform()
    found = demand_map(p.lagging_uow(), query.command(), p.now(), p.config.service_policy())
    return _answer(found).json()


def _answer(found: DemandMap) -> DemandAnswer:
    return DemandAnswer(
        city_id=found.city_id,
        time_zone=found.time_zone,
        first_day=found.days.first,
        last_day=found.days.last,
        cell_degrees=CELL_DEGREES,
        searches=found.total_searches,
        unmet=[_cell(cell) for cell in found.searches],
        vehicles=[_cell(cell) for cell in found.vehicles],
    )


def _cell(cell: CellCount) -> CellAnswer:
    lon, lat = cell.center
    return CellAnswer(lon=round(lon, 6), lat=round(lat, 6), count=cell.count)
