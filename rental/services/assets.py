"""Operators provision locks and register the assets they hold."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.domain.choices import one_of
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import (
    Asset,
    AssetKind,
    Cabinet,
    Condition,
    Lock,
    ServicePolicy,
    check_asset_code,
    check_lock_id,
    is_item,
    unavailable_because,
)
from rental.services.ports import BrokerAccountsPort
from rental.services.unit_of_work import UnitOfWork

SIGNING_KEY_BYTES = 32


@dataclass(frozen=True)
class LockCredentials:
    """Shown once, at provisioning: the platform keeps the key but never the password."""

    lock_id: str
    mqtt_username: str
    mqtt_password: str
    signing_key_hex: str


def provision_lock(
    uow: UnitOfWork, broker: BrokerAccountsPort, lock_id: str | None
) -> LockCredentials:
    lock_id = check_lock_id(lock_id) if lock_id is not None else f"L{secrets.token_hex(6).upper()}"
    lock = Lock(id=lock_id, signing_key=secrets.token_bytes(SIGNING_KEY_BYTES))
    password = secrets.token_urlsafe(24)
    with uow:
        if uow.locks.get(lock_id) is not None:
            raise Conflict(f"lock {lock_id} is already registered", "lock_exists")
        uow.locks.add(lock)
        # The broker account first: if it fails, the lock row is rolled back with it.
        broker.create_lock_account(lock_id, password)
        uow.commit()
    return LockCredentials(lock_id, lock_id, password, lock.signing_key.hex())


def register_cabinet(
    uow: UnitOfWork, lock_id: object, city_id: object, kind: object, slots: object
) -> Cabinet:
    """A provisioned device becomes a cabinet of `slots` numbered slots (1..slots)."""
    if not isinstance(lock_id, str) or not isinstance(city_id, str):
        raise InvalidInput("lock_id and city_id are required strings")
    if not isinstance(slots, int) or isinstance(slots, bool):
        raise InvalidInput("slots is the number of slots", "invalid_slots")
    cabinet = Cabinet(lock_id, city_id, _kind(kind), slots)
    with uow:
        _require_city_and_device(uow, city_id, lock_id)
        if uow.assets.uses_lock(lock_id):
            raise Conflict("this lock already holds a vehicle", "lock_in_use")
        uow.cabinets.add(cabinet)
        uow.commit()
    return cabinet


def register_asset(uow: UnitOfWork, body: dict[str, Any]) -> Asset:
    """A vehicle with its own lock (`lock_id`), or an item docked in a cabinet's slot
    (`cabinet_id`, `slot`)."""
    code, city_id = body.get("code"), body.get("city_id")
    if not isinstance(code, str) or not isinstance(city_id, str):
        raise InvalidInput("code, kind and city_id are required strings")
    kind = _kind(body.get("kind"))
    asset = Asset(uuid.uuid4(), check_asset_code(code), kind, city_id, None)
    with uow:
        if is_item(kind):
            asset.cabinet_id, asset.slot = _free_slot(uow, asset, body)
        else:
            asset.lock_id = _vehicle_lock(uow, body.get("lock_id"))
        _require_city_and_device(uow, city_id, asset.device_id or "")
        uow.assets.add(asset)
        uow.commit()
    return asset


def _kind(kind: object) -> AssetKind:
    return one_of(AssetKind, kind, "kind", "invalid_kind")


def _vehicle_lock(uow: UnitOfWork, lock_id: object) -> str:
    if not isinstance(lock_id, str):
        raise InvalidInput("a vehicle needs the lock_id of its lock", "invalid_lock_id")
    if uow.cabinets.get(lock_id) is not None:
        raise Conflict("that device is a cabinet, not a vehicle's lock", "lock_in_use")
    return lock_id


def _free_slot(uow: UnitOfWork, item: Asset, body: dict[str, Any]) -> tuple[str, int]:
    cabinet_id, slot = body.get("cabinet_id"), body.get("slot")
    if not isinstance(cabinet_id, str) or not isinstance(slot, int) or isinstance(slot, bool):
        raise InvalidInput("an item is registered in a cabinet: cabinet_id and slot")
    cabinet = uow.cabinets.get(cabinet_id)
    if cabinet is None:
        raise NotFound(f"no cabinet {cabinet_id}", "cabinet_not_found")
    if cabinet.kind is not item.kind or cabinet.city_id != item.city_id:
        raise Conflict(
            f"cabinet {cabinet_id} holds {cabinet.kind.value} in {cabinet.city_id}",
            "wrong_cabinet",
        )
    if not 1 <= slot <= cabinet.slots:
        raise InvalidInput(f"slot must be from 1 to {cabinet.slots}", "invalid_slot")
    return cabinet_id, slot


def _require_city_and_device(uow: UnitOfWork, city_id: str, device_id: str) -> None:
    if uow.cities.currency_of(city_id) is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
    if uow.locks.get(device_id) is None:
        raise NotFound(f"no lock {device_id}", "lock_not_found")


def fleet(
    uow: UnitOfWork, city_id: str | None, now: datetime, policy: ServicePolicy
) -> list[dict[str, Any]]:
    """Every asset with the reasons riders cannot take it now (empty: available)."""
    with uow:
        rows = uow.assets.fleet(now, city_id)
    for row in rows:
        condition = Condition(
            row["in_service"],
            row["open_damage_reports"],
            row["battery_pct"],
            row["online"],
            row["last_seen_at"],
            row["rental_state"] is not None,
            row["reserved"],
            row["locked"] is False,
        )
        row["unavailable"] = [
            reason.value for reason in unavailable_because(condition, now, policy)
        ]
    return rows
