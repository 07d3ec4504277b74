"""The operator's side: provision locks, register assets, see them all."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import requires
from rental.api.common import platform, qr_image
from rental.api.parsing import (
    integer,
    is_integer,
    json_body,
    json_body_or_empty,
    optional_string,
    path_uuid,
)
from rental.domain.choices import one_of
from rental.domain.credit import checked_incident
from rental.domain.errors import InvalidInput
from rental.domain.fleet import AssetKind, check_asset_code, check_lock_id, is_item, qr_payload
from rental.domain.riders import Role
from rental.services import assets, credit
from rental.services.commands.assets import (
    ProvisionLock,
    RegisterAsset,
    RegisterCabinet,
    RegisterItem,
    RegisterVehicle,
)
from rental.services.commands.riders import RecordIncident
from rental.services.read_models import AssetOverview

blueprint = Blueprint("ops", __name__, url_prefix="/api/v1/ops")


@blueprint.post("/locks")
@requires(Role.OPERATOR)
def provision_lock() -> tuple[dict[str, Any], int]:
    body = json_body_or_empty()
    lock_id = optional_string(body, "lock_id", "lock_id must be a string", "invalid_lock_id")
    command = ProvisionLock(None if lock_id is None else check_lock_id(lock_id))
    p = platform()
    credentials = assets.provision_lock(p.uow(), p.broker_accounts, command)
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
    """A vehicle with its own lock (`lock_id`), or an item docked in a cabinet's slot
    (`cabinet_id`, `slot`)."""
    p = platform()
    asset = assets.register_asset(p.uow(), _register_asset(json_body()))
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


def _register_asset(body: dict[str, Any]) -> RegisterAsset:
    code, city_id = body.get("code"), body.get("city_id")
    if not isinstance(code, str) or not isinstance(city_id, str):
        raise InvalidInput("code, kind and city_id are required strings")
    kind = one_of(AssetKind, body.get("kind"), "kind", "invalid_kind")
    code = check_asset_code(code)
    if is_item(kind):
        cabinet_id, slot = body.get("cabinet_id"), body.get("slot")
        if not isinstance(cabinet_id, str) or not is_integer(slot):
            raise InvalidInput("an item is registered in a cabinet: cabinet_id and slot")
        assert isinstance(slot, int)
        return RegisterItem(code, kind, city_id, cabinet_id, slot)
    lock_id = body.get("lock_id")
    if not isinstance(lock_id, str):
        raise InvalidInput("a vehicle needs the lock_id of its lock", "invalid_lock_id")
    return RegisterVehicle(code, kind, city_id, lock_id)


@blueprint.get("/assets/<code>/label")
@requires(Role.OPERATOR)
def asset_label(code: str) -> dict[str, Any]:
    """What a printed label carries: the code, and the QR code a rider scans."""
    p = platform()
    asset = assets.asset_by_code(p.uow(), code)
    return {"code": asset.code, "kind": asset.kind.value, **_label(p.config.PUBLIC_BASE_URL, code)}


def _label(base_url: str, code: str) -> dict[str, str]:
    payload = qr_payload(base_url, code)
    return {"qr": payload, "qr_image": qr_image(payload)}


@blueprint.post("/cabinets")
@requires(Role.OPERATOR)
def register_cabinet() -> tuple[dict[str, Any], int]:
    """`{lock_id, city_id, kind, slots}`: a provisioned device that releases items."""
    body = json_body()
    lock_id, city_id = body.get("lock_id"), body.get("city_id")
    if not isinstance(lock_id, str) or not isinstance(city_id, str):
        raise InvalidInput("lock_id and city_id are required strings")
    slots = integer(body, "slots", "slots is the number of slots", "invalid_slots")
    kind = one_of(AssetKind, body.get("kind"), "kind", "invalid_kind")
    cabinet = assets.register_cabinet(
        platform().uow(), RegisterCabinet(lock_id, city_id, kind, slots)
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
    found = assets.asset_overview(
        p.uow(), request.args.get("city_id"), p.now(), p.config.service_policy()
    )
    return {"assets": [_asset_view(asset, p.config.PUBLIC_BASE_URL) for asset in found]}


def _asset_view(asset: AssetOverview, base_url: str) -> dict[str, Any]:
    position = None if asset.lon is None else {"lon": asset.lon, "lat": asset.lat}
    unavailable = [reason.value for reason in asset.unavailable]
    return {
        "id": str(asset.id),
        "code": asset.code,
        "kind": asset.kind.value,
        "city_id": asset.city_id,
        "qr": qr_payload(base_url, asset.code),
        "in_service": asset.in_service,
        "needs_retrieval": asset.needs_retrieval,
        "rental_state": asset.rental_state.value if asset.rental_state else None,
        "available": not unavailable,
        "unavailable": unavailable,
        "open_damage_reports": asset.open_damage_reports,
        "cabinet": None
        if asset.cabinet_id is None
        else {"id": asset.cabinet_id, "slot": asset.slot},
        "lock": {
            "id": asset.lock_id or asset.cabinet_id,
            "online": asset.online,
            "locked": asset.locked,
            "battery_pct": asset.battery_pct,
            "last_seen_at": asset.last_seen_at.isoformat() if asset.last_seen_at else None,
            "position": position,
        },
    }


@blueprint.post("/riders/<rider_id>/credit-events")
@requires(Role.OPERATOR)
def record_credit_event(rider_id: str) -> tuple[dict[str, Any], int]:
    """An operator confirms a parking violation or damage; once per `reference`."""
    body = json_body()
    rider = path_uuid(rider_id, "rider")
    reason = checked_incident(body.get("reason"))
    reference = body.get("reference")
    if not isinstance(reference, str) or not 3 <= len(reference) <= 100:
        raise InvalidInput(
            "reference (e.g. a damage report id) is 3 to 100 characters", "invalid_reference"
        )
    score = credit.record_confirmed_incident(
        platform().uow(), RecordIncident(rider, reason, reference)
    )
    return {"rider_id": rider_id, "score": score}, 201
