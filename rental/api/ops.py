"""The operator's side: provision locks, register assets, see the fleet."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import requires
from rental.api.common import json_body, parse_uuid, platform, qr_image
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.fleet import qr_payload
from rental.domain.riders import Role
from rental.services import credit, fleet

blueprint = Blueprint("ops", __name__, url_prefix="/api/v1/ops")


@blueprint.post("/locks")
@requires(Role.OPERATOR)
def provision_lock() -> tuple[dict[str, Any], int]:
    body = request.get_json(silent=True) or {}
    lock_id = body.get("lock_id") if isinstance(body, dict) else None
    if lock_id is not None and not isinstance(lock_id, str):
        raise InvalidInput("lock_id must be a string", "invalid_lock_id")
    p = platform()
    credentials = fleet.provision_lock(p.uow(), p.broker_accounts, lock_id)
    broker = p.config.MQTT_URL.rsplit("@", 1)[-1]
    return {
        "lock_id": credentials.lock_id,
        "mqtt": {
            "broker": f"mqtt://{broker}",
            "username": credentials.mqtt_username,
            "password": credentials.mqtt_password,
        },
        "signing_key": credentials.signing_key_hex,
        "note": "store these in the lock now: the password and key are not shown again",
    }, 201


@blueprint.post("/assets")
@requires(Role.OPERATOR)
def register_asset() -> tuple[dict[str, Any], int]:
    body = json_body()
    p = platform()
    asset = fleet.register_asset(p.uow(), body)
    return {
        "id": str(asset.id),
        "code": asset.code,
        "kind": asset.kind.value,
        "city_id": asset.city_id,
        "lock_id": asset.lock_id,
        "cabinet_id": asset.cabinet_id,
        "slot": asset.slot,
        **_label(p.config.PUBLIC_BASE_URL, asset.code),
    }, 201


@blueprint.get("/assets/<code>/label")
@requires(Role.OPERATOR)
def asset_label(code: str) -> dict[str, Any]:
    """What a printed label carries: the code, and the QR code a rider scans."""
    p = platform()
    with p.uow() as uow:
        asset = uow.assets.by_code(code)
    if asset is None:
        raise NotFound(f"no asset {code}", "asset_not_found")
    return {"code": asset.code, "kind": asset.kind.value, **_label(p.config.PUBLIC_BASE_URL, code)}


def _label(base_url: str, code: str) -> dict[str, str]:
    payload = qr_payload(base_url, code)
    return {"qr": payload, "qr_image": qr_image(payload)}


@blueprint.post("/cabinets")
@requires(Role.OPERATOR)
def register_cabinet() -> tuple[dict[str, Any], int]:
    """`{lock_id, city_id, kind, slots}`: a provisioned device that releases items."""
    body = json_body()
    cabinet = fleet.register_cabinet(
        platform().uow(),
        body.get("lock_id"),
        body.get("city_id"),
        body.get("kind"),
        body.get("slots"),
    )
    return {
        "lock_id": cabinet.lock_id,
        "city_id": cabinet.city_id,
        "kind": cabinet.kind.value,
        "slots": cabinet.slots,
    }, 201


@blueprint.get("/assets")
@requires(Role.OPERATOR)
def list_assets() -> dict[str, Any]:
    p = platform()
    rows = fleet.fleet(p.uow(), request.args.get("city_id"), p.now(), p.config.service_policy())
    return {"assets": [_asset_view(row, p.config.PUBLIC_BASE_URL) for row in rows]}


def _asset_view(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    position = None if row["lon"] is None else {"lon": row["lon"], "lat": row["lat"]}
    return {
        "id": str(row["id"]),
        "code": row["code"],
        "kind": row["kind"],
        "city_id": row["city_id"],
        "qr": qr_payload(base_url, row["code"]),
        "in_service": row["in_service"],
        "needs_retrieval": row["needs_retrieval"],
        "rental_state": row["rental_state"],
        "available": not row["unavailable"],
        "unavailable": row["unavailable"],
        "open_damage_reports": row["open_damage_reports"],
        "cabinet": None
        if row["cabinet_id"] is None
        else {"id": row["cabinet_id"], "slot": row["slot"]},
        "lock": {
            "id": row["lock_id"] or row["cabinet_id"],
            "online": row["online"],
            "locked": row["locked"],
            "battery_pct": row["battery_pct"],
            "last_seen_at": row["last_seen_at"].isoformat() if row["last_seen_at"] else None,
            "position": position,
        },
    }


@blueprint.post("/riders/<rider_id>/credit-events")
@requires(Role.OPERATOR)
def record_credit_event(rider_id: str) -> tuple[dict[str, Any], int]:
    """An operator confirms a parking violation or damage; once per `reference`."""
    body = json_body()
    p = platform()
    score = credit.record_confirmed_incident(
        p.uow(), parse_uuid(rider_id, "rider"), body.get("reason"), body.get("reference")
    )
    return {"rider_id": rider_id, "score": score}, 201
