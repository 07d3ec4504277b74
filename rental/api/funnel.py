"""The rider funnel: the app reports its own steps, operators read the whole funnel.

POST /api/v1/app-events                        public; a batch of the app's steps, 202
GET  /api/v1/ops/funnel?city_id=demo[&from=2026-11-24&to=2026-11-30]    operators

The app names its visit (a random id it makes at start, never the rider's) in the body
here, and in the `X-App-Visit` header of its scan and nearby searches, so that the
platform's steps join the app's. A header that is no UUID is ignored: the request counts
without a visit, it is never refused for it.
"""

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    DAY_RULE,
    NOT_FOUND,
    SIGNED_IN,
    Absent,
    AnswerModel,
    CityId,
    Day,
    QueryModel,
    RequestModel,
    explained,
    signed_in,
)
from rental.domain.funnel import APP_STEPS, Step
from rental.domain.riders import Role
from rental.services import funnel
from rental.services.commands.funnel import AppStep, RecordAppSteps

VISIT_HEADER = "X-App-Visit"
MAX_EVENTS = 20  # a batch: what one screen of the app reports at once, with room to spare
APP_STEP_NAMES = sorted(step.value for step in APP_STEPS)

FUNNEL = Tag(name="funnel", description="the rider funnel: app visits from map to ride")
blueprint = APIBlueprint("funnel", __name__, url_prefix="/api/v1", abp_tags=[FUNNEL])


def app_visit() -> UUID | None:
    """The app's visit named by the request's `X-App-Visit` header, if a UUID."""
    value = request.headers.get(VISIT_HEADER, "")
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


AppStepName = Annotated[
    Literal["map_opened", "vehicle_viewed", "price_seen"],
    explained(f"step must be one of {', '.join(APP_STEP_NAMES)}", "invalid_step"),
]


class AppEvent(RequestModel):
    step: AppStepName
    city_id: CityId


class AppEvents(RequestModel):
    visit_id: Annotated[UUID, explained("visit_id must be a UUID the app made", "invalid_visit_id")]
    events: list[AppEvent] = Field(
        min_length=1, max_length=MAX_EVENTS, description=f"1 to {MAX_EVENTS} steps"
    )

    def command(self) -> RecordAppSteps:
        steps = tuple(AppStep(event.city_id, Step(event.step)) for event in self.events)
        return RecordAppSteps(self.visit_id, steps)


class Recorded(AnswerModel):
    recorded: int = Field(description="steps new to the visit (a repeat counts once)")


@blueprint.post("/app-events", responses={202: Recorded, **NOT_FOUND})
def app_events(body: AppEvents) -> tuple[dict[str, Any], int]:
    """The rider app's own funnel steps (map opened, vehicle viewed, price seen) for its
    visit, each in a city; 404 `city_not_found` for a city the platform does not know.
    No rider, no position is sent or kept. 429 past `RATE_LIMIT_APP_EVENTS`."""
    p = platform()
    recorded = funnel.record_app_steps(p.uow(), body.command(), p.now())
    return Recorded(recorded=recorded).json(), 202


FunnelDay = Annotated[Day, explained(DAY_RULE, "invalid_days")]


class FunnelQuery(QueryModel):
    city_id: CityId
    first: FunnelDay | Absent = Field(
        None, alias="from", description="the city's first day; default: 6 days before `to`"
    )
    last: FunnelDay | Absent = Field(
        None, alias="to", description="the city's last day; default: today"
    )


class DropOutAnswer(AnswerModel):
    reason: str = Field(description="an error code of the refusal, an unlock's failure, ...")
    visits: int


class StepAnswer(AnswerModel):
    step: Step
    visits: int = Field(description="app visits (or scans outside one) that reached it")
    conversion: float | None = Field(description="visits / the previous step's; null: none")
    drop_outs: list[DropOutAnswer] = Field(description="why visits did not reach it, most first")


class FunnelAnswer(AnswerModel):
    city_id: str
    time_zone: str
    first_day: date
    last_day: date
    steps: list[StepAnswer] = Field(description="every step, in the riders' order")


@blueprint.get(
    "/ops/funnel",
    security=BEARER,
    responses={200: FunnelAnswer, **SIGNED_IN, **NOT_FOUND},
)
@signed_in(Role.OPERATOR)
def city_funnel(query: FunnelQuery) -> dict[str, Any]:
    """A city's rider funnel over its days `from`..`to` (both included, at most 90): app
    visits at each step from the map to the ride's end, the conversion between steps,
    and why visits dropped out. 400 `invalid_days`; 404 `city_not_found`."""
    p = platform()
    found = funnel.funnel(p.lagging_uow(), query.city_id, query.first, query.last, p.now())
    steps = [
        StepAnswer(
            step=figures.step,
            visits=figures.visits,
            conversion=None if figures.conversion is None else round(figures.conversion, 4),
            drop_outs=[
                DropOutAnswer(reason=drop.reason, visits=drop.visits) for drop in figures.drop_outs
            ],
        )
        for figures in found.steps
    ]
    answer = FunnelAnswer(
        city_id=found.city_id,
        time_zone=found.time_zone,
        first_day=found.first_day,
        last_day=found.last_day,
        steps=steps,
    )
    return answer.json()
