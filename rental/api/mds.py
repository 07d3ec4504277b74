"""The MDS 2.0 provider API. A city's token reads that city only; which city comes from
the token, never from the request."""

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, g, json, request

from rental.api import mds_json, mds_versions
from rental.api.auth import issue_client_token, requires, requires_city_client
from rental.api.common import platform
from rental.api.parsing import json_body, path_uuid
from rental.domain import mds as spec
from rental.domain.errors import InvalidInput, NotAcceptable, NotFound
from rental.domain.riders import Role
from rental.services import mds
from rental.services.commands.open_data import MdsPage, RegisterMdsClient

blueprint = Blueprint("mds", __name__)
PREFIX = "/mds/v2"
# How long a client may keep /vehicles and /vehicles/status (the spec's ttl, in ms).
VEHICLES_TTL_MS = 60_000
STATUS_TTL_MS = 10_000
MAX_CLIENT_NAME = 200
Record = TypeVar("Record")


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
        json.dumps({"version": spec.VERSION, **body}),
        status=status,
        content_type=f"{spec.MEDIA_TYPE};version=2.0",
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


@blueprint.get(f"{PREFIX}/vehicles")
@blueprint.get(f"{PREFIX}/vehicles/<device_id>")
@requires_city_client
def vehicles(device_id: str | None = None) -> Response:
    _check_version()
    page = mds.vehicles(platform().uow(), _provider(), _page_request(), _device(device_id))
    return _one_or_page(_rendered(page, mds_json.vehicle), device_id, "vehicles", VEHICLES_TTL_MS)


@blueprint.get(f"{PREFIX}/vehicles/status")
@blueprint.get(f"{PREFIX}/vehicles/status/<device_id>")
@requires_city_client
def vehicles_status(device_id: str | None = None) -> Response:
    _check_version()
    uow, provider = platform().uow(), _provider()
    page = mds.vehicle_statuses(uow, provider, _page_request(), _device(device_id))
    rendered = _rendered(page, mds_json.vehicle_status)
    return _one_or_page(rendered, device_id, "vehicles_status", STATUS_TTL_MS)


def _one_or_page(
    page: mds.Page[dict[str, Any]], device_id: str | None, key: str, ttl_ms: int
) -> Response:
    if device_id is None:
        return _paged(page, key, **_freshness(ttl_ms))
    if not page.items:
        raise NotFound("no such vehicle in this city", "vehicle_not_found")
    return _answer({**_freshness(ttl_ms), key: page.items})


@blueprint.get(f"{PREFIX}/trips")
@requires_city_client
def trips() -> Response:
    _check_version()
    hour = spec.hour_window(request.args.get("end_time"), "end_time")
    return _hourly(
        lambda: mds.trips(platform().uow(), _provider(), hour, _settle()), mds_json.trip, "trips"
    )


@blueprint.get(f"{PREFIX}/telemetry")
@requires_city_client
def telemetry() -> Response:
    _check_version()
    hour = spec.hour_window(request.args.get("telemetry_time"), "telemetry_time")
    return _hourly(
        lambda: mds.telemetry(platform().uow(), _provider(), hour, _settle()),
        mds_json.telemetry,
        "telemetry",
    )


@blueprint.get(f"{PREFIX}/events/historical")
@requires_city_client
def historical_events() -> Response:
    _check_version()
    hour = spec.hour_window(request.args.get("event_time"), "event_time")
    return _hourly(
        lambda: mds.historical_events(platform().uow(), _provider(), hour, _settle()),
        mds_json.event,
        "events",
    )


@blueprint.get(f"{PREFIX}/events/recent")
@requires_city_client
def recent_events() -> Response:
    _check_version()
    window = spec.millis_window(request.args.get("start_time"), request.args.get("end_time"))
    page = mds.recent_events(platform().uow(), _provider(), window, _page_request())
    return _paged(_rendered(page, mds_json.event), "events")


@blueprint.get(f"{PREFIX}/reports/<filename>")
@requires_city_client
def report(filename: str) -> Response:
    csv = mds.monthly_report(platform().uow(), _provider(), spec.month_of(filename))
    return Response(csv, content_type="text/csv; charset=utf-8")


def _page_request() -> MdsPage:
    """`?page_after=<cursor>` from a links.next URL; the page size is ours."""
    after = request.args.get("page_after")
    try:
        cursor = None if after is None else uuid.UUID(after)
    except ValueError:
        raise InvalidInput("page_after is a cursor from a links.next URL", "bad_param") from None
    return MdsPage(cursor, int(platform().config.MDS_PAGE_SIZE))


def _device(device_id: str | None) -> uuid.UUID | None:
    if device_id is None:
        return None
    try:
        return uuid.UUID(device_id)
    except ValueError:
        raise InvalidInput("device_id is a UUID", "bad_param") from None


# --- operators manage who may read ------------------------------------------------------


@blueprint.post("/api/v1/ops/mds-clients")
@requires(Role.OPERATOR)
def register_client() -> tuple[dict[str, Any], int]:
    """`{city_id, name}`: the token is shown once; keep it like a password."""
    body = json_body()
    city_id, name = body.get("city_id"), body.get("name")
    if not isinstance(city_id, str) or not city_id:
        raise InvalidInput("city_id is required", "invalid_city")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_CLIENT_NAME:
        raise InvalidInput(f"name says who the client is (1-{MAX_CLIENT_NAME} characters)")
    command = RegisterMdsClient(city_id, name.strip())
    client_id = mds.register_client(platform().uow(), command)
    return {
        "id": str(client_id),
        "city_id": command.city_id,
        "name": command.name,
        "token": issue_client_token(client_id),
        "base_url": f"{platform().config.PUBLIC_BASE_URL}{PREFIX}",
    }, 201


@blueprint.get("/api/v1/ops/mds-clients")
@requires(Role.OPERATOR)
def list_clients() -> dict[str, Any]:
    return {
        "clients": [
            {
                "id": str(client.id),
                "city_id": client.city_id,
                "name": client.name,
                "created_at": client.created_at.isoformat(),
                "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None,
            }
            for client in mds.clients(platform().uow())
        ]
    }


@blueprint.delete("/api/v1/ops/mds-clients/<client_id>")
@requires(Role.OPERATOR)
def revoke_client(client_id: str) -> tuple[str, int]:
    p = platform()
    mds.revoke_client(p.uow(), path_uuid(client_id, "client"), p.now())
    return "", 204
