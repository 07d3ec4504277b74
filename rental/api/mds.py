"""The MDS 2.0 provider API. A city's token reads that city only; which city comes from
the token, never from the request. Requests and answers: rental.api.mds_models."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

from flask import Response, g, json, request
from flask_openapi3 import APIBlueprint, ExternalDocumentation, Tag
from pydantic import Field, StringConstraints

from rental.api import mds_json, mds_versions
from rental.api.auth import issue_client_token
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    NO_NUL,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityId,
    RequestModel,
    city_client,
    explained,
    signed_in,
)
from rental.api.mds_models import (
    MdsDevicePath,
    MdsEventPage,
    MdsEvents,
    MdsEventsPending,
    MdsHistoricalEventsQuery,
    MdsPageQuery,
    MdsRecentEventsQuery,
    MdsReportPath,
    MdsTelemetryList,
    MdsTelemetryPending,
    MdsTelemetryQuery,
    MdsTrips,
    MdsTripsPending,
    MdsTripsQuery,
    MdsVehicleList,
    MdsVehiclePage,
    MdsVehicleStatusList,
    MdsVehicleStatusPage,
)
from rental.domain import mds as spec
from rental.domain.errors import NotAcceptable, NotFound
from rental.domain.riders import Role
from rental.services import mds
from rental.services.commands.open_data import MdsPage, RegisterMdsClient

SPEC_URL = "https://github.com/openmobilityfoundation/mobility-data-specification"
MDS = Tag(
    name="mds",
    description="MDS 2.0 provider API: a city's token reads that city's vehicles, trips, "
    "telemetry and events; operators give cities their tokens",
    externalDocs=ExternalDocumentation(url=SPEC_URL),
)
blueprint = APIBlueprint(
    "mds", __name__, abp_tags=[MDS], abp_security=BEARER, abp_responses=SIGNED_IN
)
PREFIX = "/mds/v2"
# How long a client may keep /vehicles and /vehicles/status (the spec's ttl, in ms).
VEHICLES_TTL_MS = 60_000
STATUS_TTL_MS = 10_000
MAX_CLIENT_NAME = 200
Record = TypeVar("Record")

# What the spec answers besides 200 (their bodies: the MDS error shape).
NOT_ACCEPTABLE: dict[str | int, Any] = {406: {"description": "no MDS version we speak"}}
NO_DATA: dict[str | int, Any] = {404: {"description": "the hour is not over yet"}}
ONE_VEHICLE: dict[str | int, Any] = {404: {"description": "no such vehicle in this city"}}
REPORT: dict[str, Any] = {
    "description": "rides and riders per vehicle type, MDS's report CSV",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


def _provider() -> mds.Provider:
    p = platform()
    return mds.Provider(_provider_id(), g.city_id, p.now(), p.config.service_policy())


def _provider_id() -> str:
    config = platform().config
    return config.MDS_PROVIDER_ID or spec.provider_id_for(config.PUBLIC_BASE_URL)


def _settle() -> timedelta:
    return timedelta(seconds=platform().config.MDS_SETTLE_SECONDS)


def _check_version() -> None:
    """A client that accepts no version we speak gets 406, as the spec says."""
    if not mds_versions.accepts_our_version(request.headers.get("Accept")):
        raise NotAcceptable(f"this server speaks MDS {spec.VERSION}", "unsupported_version")


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps({"version": spec.VERSION, **body}), status=status, content_type=spec.ANSWER_TYPE
    )


def _paged(page: mds.Page[dict[str, Any]], key: str, **extra: Any) -> Response:
    next_url = None
    if page.next_after is not None:
        args = {**request.args.to_dict(), "page_after": page.next_after}
        next_url = f"{platform().config.PUBLIC_BASE_URL}{request.path}?{urlencode(args)}"
    return _answer({**extra, "links": {"next": next_url}, key: page.items})


def _rendered(
    page: mds.Page[Record], render: Callable[[str, Record], dict[str, Any]]
) -> mds.Page[dict[str, Any]]:
    provider_id = _provider_id()
    return mds.Page([render(provider_id, item) for item in page.items], page.next_after)


def _hourly(
    read: Callable[[], Sequence[Record]], render: Callable[[str, Record], dict[str, Any]], key: str
) -> Response:
    try:
        records = read()
    except mds.NotReady:
        return _answer({key: [], "message": "this hour is still being processed"}, 202)
    provider_id = _provider_id()
    return _answer({key: [render(provider_id, record) for record in records]})


def _freshness(ttl_ms: int) -> dict[str, int]:
    return {"last_updated": spec.timestamp(platform().now()), "ttl": ttl_ms}


def _page_request(after: UUID | None) -> MdsPage:
    """`?page_after=<cursor>` from a links.next URL; the page size is ours."""
    return MdsPage(after, int(platform().config.MDS_PAGE_SIZE))


def _one(page: mds.Page[dict[str, Any]], key: str, ttl_ms: int) -> Response:
    if not page.items:
        raise NotFound("no such vehicle in this city", "vehicle_not_found")
    return _answer({**_freshness(ttl_ms), key: page.items})


@blueprint.get(f"{PREFIX}/vehicles", responses={200: MdsVehiclePage, **NOT_ACCEPTABLE})
@city_client
def vehicles(query: MdsPageQuery) -> Response:
    """The city's vehicles, in pages (`links.next`)."""
    _check_version()
    found = mds.vehicles(
        platform().lagging_uow(), _provider(), _page_request(query.page_after), None
    )
    return _paged(_rendered(found, mds_json.vehicle), "vehicles", **_freshness(VEHICLES_TTL_MS))


@blueprint.get(
    f"{PREFIX}/vehicles/<device_id>",
    responses={200: MdsVehicleList, **ONE_VEHICLE, **NOT_ACCEPTABLE},
)
@city_client
def vehicle(path: MdsDevicePath) -> Response:
    """One vehicle of the city."""
    _check_version()
    found = mds.vehicles(platform().lagging_uow(), _provider(), _page_request(None), path.device_id)
    return _one(_rendered(found, mds_json.vehicle), "vehicles", VEHICLES_TTL_MS)


@blueprint.get(f"{PREFIX}/vehicles/status", responses={200: MdsVehicleStatusPage, **NOT_ACCEPTABLE})
@city_client
def vehicles_status(query: MdsPageQuery) -> Response:
    """Each vehicle's state now, with its last event and fix, in pages (`links.next`)."""
    _check_version()
    uow, provider = platform().lagging_uow(), _provider()
    found = mds.vehicle_statuses(uow, provider, _page_request(query.page_after), None)
    rendered = _rendered(found, mds_json.vehicle_status)
    return _paged(rendered, "vehicles_status", **_freshness(STATUS_TTL_MS))


@blueprint.get(
    f"{PREFIX}/vehicles/status/<device_id>",
    responses={200: MdsVehicleStatusList, **ONE_VEHICLE, **NOT_ACCEPTABLE},
)
@city_client
def vehicle_status(path: MdsDevicePath) -> Response:
    """One vehicle's state now."""
    _check_version()
    uow, provider = platform().lagging_uow(), _provider()
    found = mds.vehicle_statuses(uow, provider, _page_request(None), path.device_id)
    return _one(_rendered(found, mds_json.vehicle_status), "vehicles_status", STATUS_TTL_MS)


@blueprint.get(
    f"{PREFIX}/trips",
    responses={200: MdsTrips, 202: MdsTripsPending, **NO_DATA, **NOT_ACCEPTABLE},
)
@city_client
def trips(query: MdsTripsQuery) -> Response:
    """The trips that ended in an hour, once it is over and settled (202 until then)."""
    _check_version()
    hour = spec.hour_window(query.end_time, "end_time")
    return _hourly(
        lambda: mds.trips(platform().lagging_uow(), _provider(), hour, _settle()),
        mds_json.trip,
        "trips",
    )


@blueprint.get(
    f"{PREFIX}/telemetry",
    responses={200: MdsTelemetryList, 202: MdsTelemetryPending, **NOT_ACCEPTABLE},
)
@city_client
def telemetry(query: MdsTelemetryQuery) -> Response:
    """Every fix in an hour, once it is over and settled.

    An hour not over is 400: the spec gives /telemetry no 404."""
    _check_version()
    hour = spec.hour_window(query.telemetry_time, "telemetry_time")
    return _hourly(
        lambda: mds.telemetry(platform().lagging_uow(), _provider(), hour, _settle()),
        mds_json.telemetry,
        "telemetry",
    )


@blueprint.get(
    f"{PREFIX}/events/historical",
    responses={200: MdsEvents, 202: MdsEventsPending, **NO_DATA, **NOT_ACCEPTABLE},
)
@city_client
def historical_events(query: MdsHistoricalEventsQuery) -> Response:
    """Every event in an hour, once it is over and settled."""
    _check_version()
    hour = spec.hour_window(query.event_time, "event_time")
    return _hourly(
        lambda: mds.historical_events(platform().lagging_uow(), _provider(), hour, _settle()),
        mds_json.event,
        "events",
    )


@blueprint.get(f"{PREFIX}/events/recent", responses={200: MdsEventPage, **NOT_ACCEPTABLE})
@city_client
def recent_events(query: MdsRecentEventsQuery) -> Response:
    """Events with start_time <= timestamp < end_time, oldest first, in pages.

    Within the last two weeks; equal times are an empty window."""
    _check_version()
    window = spec.moment_at(query.start_time), spec.moment_at(query.end_time)
    page = mds.recent_events(
        platform().lagging_uow(), _provider(), window, _page_request(query.page_after)
    )
    return _paged(_rendered(page, mds_json.event), "events")


@blueprint.get(
    f"{PREFIX}/reports/<filename>",
    responses={200: REPORT, 404: {"description": "no such month, or not over yet"}},
)
@city_client
def report(path: MdsReportPath) -> Response:
    """A month's report, `YYYY-MM.csv`, once the month is over."""
    csv = mds.monthly_report(platform().lagging_uow(), _provider(), path.filename)
    return Response(csv, content_type="text/csv; charset=utf-8")


# --- operators manage who may read ------------------------------------------------------

CLIENTS = "/api/v1/ops/mds-clients"


class NewMdsClient(RequestModel):
    city_id: CityId = Field(description="the only city the token reads")
    name: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=MAX_CLIENT_NAME, pattern=NO_NUL
        ),
        explained(f"name says who the client is (1-{MAX_CLIENT_NAME} characters)"),
        Field(description="who the client is: a city's department, its contractor"),
    ]


class MdsClientToken(AnswerModel):
    id: UUID
    city_id: str
    name: str
    token: str = Field(description="shown once: keep it like a password")
    base_url: str = Field(description="where the provider API answers")


@blueprint.post(CLIENTS, responses={201: MdsClientToken, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def register_client(body: NewMdsClient) -> tuple[dict[str, Any], int]:
    """A city's reader of the provider API: the token is shown once; 404 for no such city."""
    command = RegisterMdsClient(body.city_id, body.name)
    client_id = mds.register_client(platform().uow(), command)
    return MdsClientToken(
        id=client_id,
        city_id=command.city_id,
        name=command.name,
        token=issue_client_token(client_id),
        base_url=f"{platform().config.PUBLIC_BASE_URL}{PREFIX}",
    ).json(), 201


class MdsClientAnswer(AnswerModel):
    id: UUID
    city_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="its token reads nothing since")


class MdsClients(AnswerModel):
    clients: list[MdsClientAnswer]


@blueprint.get(CLIENTS, responses={200: MdsClients})
@signed_in(Role.OPERATOR)
def list_clients() -> dict[str, Any]:
    """Every MDS client, revoked ones too."""
    return MdsClients(
        clients=[
            MdsClientAnswer(
                id=client.id,
                city_id=client.city_id,
                name=client.name,
                created_at=client.created_at,
                revoked_at=client.revoked_at,
            )
            for client in mds.clients(platform().lagging_uow())
        ]
    ).json()


class MdsClientPath(RequestModel):
    client_id: UUID


@blueprint.delete(f"{CLIENTS}/<client_id>", responses={204: None, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def revoke_client(path: MdsClientPath) -> tuple[str, int]:
    """Its token reads nothing from now on."""
    p = platform()
    mds.revoke_client(p.uow(), path.client_id, p.now())
    return "", 204
