"""Operators provision locks, register the assets they hold, and see them all."""

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from rental.domain.cities import ensure_running
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import (
    Asset,
    Cabinet,
    Condition,
    Lock,
    ServicePolicy,
    UnavailableReason,
    unavailable_because,
)
from rental.services.cities import check_known
from rental.services.commands.assets import (
    ProvisionLock,
    RegisterAsset,
    RegisterCabinet,
    RegisterItem,
    RegisterVehicle,
)
from rental.services.ports import BrokerAccountsPort
from rental.services.read_models import AssetOverview
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
    uow: UnitOfWork, broker: BrokerAccountsPort, command: ProvisionLock
) -> LockCredentials:
    lock_id = command.lock_id or f"L{secrets.token_hex(6).upper()}"
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


def register_cabinet(uow: UnitOfWork, command: RegisterCabinet) -> Cabinet:
    """A provisioned device becomes a cabinet of `slots` numbered slots (1..slots)."""
    cabinet = Cabinet(command.lock_id, command.city_id, command.kind, command.slots)
    with uow:
        _require_city_and_device(uow, cabinet.city_id, cabinet.lock_id)
        if uow.assets.uses_lock(cabinet.lock_id):
            raise Conflict("this lock already holds a vehicle", "lock_in_use")
        uow.cabinets.add(cabinet)
        uow.commit()
    return cabinet


def register_asset(uow: UnitOfWork, command: RegisterAsset) -> Asset:
    """A vehicle with its own lock, or an item docked in a cabinet's slot."""
    asset = Asset(uuid.uuid4(), command.code, command.kind, command.city_id, None)
    with uow:
        match command:
            case RegisterVehicle():
                asset.lock_id = _vehicle_lock(uow, command.lock_id)
            case RegisterItem():
                asset.cabinet_id, asset.slot = _free_slot(uow, asset, command)
            case _:
                assert_never(command)
        _require_city_and_device(uow, asset.city_id, asset.device_id or "")
        uow.assets.add(asset)
        uow.commit()
    return asset


def _vehicle_lock(uow: UnitOfWork, lock_id: str) -> str:
    if uow.cabinets.get(lock_id) is not None:
        raise Conflict("that device is a cabinet, not a vehicle's lock", "lock_in_use")
    return lock_id


def _free_slot(uow: UnitOfWork, item: Asset, command: RegisterItem) -> tuple[str, int]:
    cabinet = uow.cabinets.get(command.cabinet_id)
    if cabinet is None:
        raise NotFound(f"no cabinet {command.cabinet_id}", "cabinet_not_found")
    if cabinet.kind is not item.kind or cabinet.city_id != item.city_id:
        raise Conflict(
            f"cabinet {cabinet.lock_id} holds {cabinet.kind.value} in {cabinet.city_id}",
            "wrong_cabinet",
        )
    if not 1 <= command.slot <= cabinet.slots:
        raise InvalidInput(f"slot must be from 1 to {cabinet.slots}", "invalid_slot")
    return cabinet.lock_id, command.slot


def _require_city_and_device(uow: UnitOfWork, city_id: str, device_id: str) -> None:
    city = uow.cities.get(city_id)
    if city is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
    ensure_running(city)
    if uow.locks.get(device_id) is None:
        raise NotFound(f"no lock {device_id}", "lock_not_found")


def asset_overview(
    uow: UnitOfWork, city_id: str | None, now: datetime, policy: ServicePolicy
) -> list[AssetOverview]:
    """Every asset with the reasons riders cannot take it now (none: available)."""
    with uow:
        check_known(uow, city_id)
        found = uow.assets.overview(now, city_id)
    return [replace(asset, unavailable=tuple(_why_not(asset, now, policy))) for asset in found]


def _why_not(asset: AssetOverview, now: datetime, policy: ServicePolicy) -> list[UnavailableReason]:
    condition = Condition(
        asset.in_service,
        asset.open_damage_reports,
        asset.battery_pct,
        bool(asset.online),
        asset.last_seen_at,
        asset.rental_state is not None,
        asset.reserved,
        asset.locked is False,
        bool(asset.latch_unknown),
    )
    return unavailable_because(condition, now, policy)


def asset_by_code(uow: UnitOfWork, code: str) -> Asset:
    with uow:
        asset = uow.assets.by_code(code)
    if asset is None:
        raise NotFound(f"no asset {code}", "asset_not_found")
    return asset
