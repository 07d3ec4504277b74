"""The MDS 2.0 provider API. A city's token reads that city only; which city comes from
the token, never from the request."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, json, request

from rental.api.auth import issue_client_token, requires, requires_city_client
from rental.api.common import json_body, parse_uuid, platform
from rental.domain import mds as spec
from rental.domain.errors import NotAcceptable, NotFound
from rental.domain.riders import Role
from rental.services import mds

blueprint = Blueprint("mds", __name__)
PREFIX = "/mds/v2"
# How long a client may keep /vehicles and /vehicles/status (the spec's ttl, in ms).
VEHICLES_TTL_MS = 60_000
STATUS_TTL_MS = 10_000


def _provider() -> mds.Provider:
    p = platform()
    provider_id = p.config.MDS_PROVIDER_ID or spec.provider_id_for(p.config.PUBLIC_BASE_URL)
    return mds.Provider(provider_id, g.city_id, p.now(), p.config.service_policy())


def _settle() -> timedelta:
    return timedelta(seconds=platform().config.MDS_SETTLE_SECONDS)


def _check_version() -> None:
    """A client asking for another MDS version than ours gets 406, as the spec says."""
    for media_range in request.headers.get("Accept", "").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() != spec.MEDIA_TYPE:
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "version" and not spec.VERSION.startswith(value.strip()):
                raise NotAcceptable(f"this server speaks MDS {spec.VERSION}", "unsupported_version")


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps({"version": spec.VERSION, **body}),
        status=status,
        content_type=f"{spec.MEDIA_TYPE};version=2.0",
    )


def _paged(page: mds.Page, key: str, **extra: Any) -> Response:
    next_url = None
    if page.next_after is not None:
        args = {**request.args.to_dict(), "page_after": page.next_after}
        next_url = f"{platform().config.PUBLIC_BASE_URL}{request.path}?{urlencode(args)}"
    return _answer({**extra, "links": {"next": next_url}, key: page.items})


def _hourly(read: Callable[[], list[dict[str, Any]]], key: str) -> Response:
    try:
        return _answer({key: read()})
    except mds.NotReady:
        return _answer({key: [], "message": "this hour is still being processed"}, 202)


def _freshness(ttl_ms: int) -> dict[str, int]:
    return {"last_updated": spec.timestamp(platform().now()), "ttl": ttl_ms}


@blueprint.get(f"{PREFIX}/vehicles")
@blueprint.get(f"{PREFIX}/vehicles/<device_id>")
@requires_city_client
def vehicles(device_id: str | None = None) -> Response:
    _check_version()
    page = mds.vehicles(
        platform().uow(), _provider(), request.args.get("page_after"), _page_size(), device_id
    )
    return _one_or_page(page, device_id, "vehicles", VEHICLES_TTL_MS)


@blueprint.get(f"{PREFIX}/vehicles/status")
@blueprint.get(f"{PREFIX}/vehicles/status/<device_id>")
@requires_city_client
def vehicles_status(device_id: str | None = None) -> Response:
    _check_version()
    page = mds.vehicle_statuses(
        platform().uow(), _provider(), request.args.get("page_after"), _page_size(), device_id
    )
    return _one_or_page(page, device_id, "vehicles_status", STATUS_TTL_MS)


def _one_or_page(page: mds.Page, device_id: str | None, key: str, ttl_ms: int) -> Response:
    if device_id is None:
        return _paged(page, key, **_freshness(ttl_ms))
    if not page.items:
        raise NotFound("no such vehicle in this city", "vehicle_not_found")
    return _answer({**_freshness(ttl_ms), key: page.items})


@blueprint.get(f"{PREFIX}/trips")
@requires_city_client
def trips() -> Response:
    _check_version()
    end_time = request.args.get("end_time")
    return _hourly(lambda: mds.trips(platform().uow(), _provider(), end_time, _settle()), "trips")


@blueprint.get(f"{PREFIX}/telemetry")
@requires_city_client
def telemetry() -> Response:
    _check_version()
    hour = request.args.get("telemetry_time")
    return _hourly(
        lambda: mds.telemetry(platform().uow(), _provider(), hour, _settle()), "telemetry"
    )


@blueprint.get(f"{PREFIX}/events/historical")
@requires_city_client
def historical_events() -> Response:
    _check_version()
    hour = request.args.get("event_time")
    return _hourly(
        lambda: mds.historical_events(platform().uow(), _provider(), hour, _settle()), "events"
    )


@blueprint.get(f"{PREFIX}/events/recent")
@requires_city_client
def recent_events() -> Response:
    _check_version()
    page = mds.recent_events(
        platform().uow(),
        _provider(),
        request.args.get("start_time"),
        request.args.get("end_time"),
        request.args.get("page_after"),
        _page_size(),
    )
    return _paged(page, "events")


@blueprint.get(f"{PREFIX}/reports/<filename>")
@requires_city_client
def report(filename: str) -> Response:
    csv = mds.monthly_report(platform().uow(), _provider(), filename)
    return Response(csv, content_type="text/csv; charset=utf-8")


def _page_size() -> int:
    return int(platform().config.MDS_PAGE_SIZE)


# --- operators manage who may read ------------------------------------------------------


@blueprint.post("/api/v1/ops/mds-clients")
@requires(Role.OPERATOR)
def register_client() -> tuple[dict[str, Any], int]:
    """`{city_id, name}`: the token is shown once; keep it like a password."""
    client_id, city_id, name = mds.register_client(platform().uow(), json_body())
    return {
        "id": str(client_id),
        "city_id": city_id,
        "name": name,
        "token": issue_client_token(client_id),
        "base_url": f"{platform().config.PUBLIC_BASE_URL}{PREFIX}",
    }, 201


@blueprint.get("/api/v1/ops/mds-clients")
@requires(Role.OPERATOR)
def list_clients() -> dict[str, Any]:
    return {
        "clients": [
            {
                "id": str(row["id"]),
                "city_id": row["city_id"],
                "name": row["name"],
                "created_at": row["created_at"].isoformat(),
                "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
            }
            for row in mds.clients(platform().uow())
        ]
    }


@blueprint.delete("/api/v1/ops/mds-clients/<client_id>")
@requires(Role.OPERATOR)
def revoke_client(client_id: str) -> tuple[str, int]:
    p = platform()
    mds.revoke_client(p.uow(), parse_uuid(client_id, "client"), p.now())
    return "", 204
