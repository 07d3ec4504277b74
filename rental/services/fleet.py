"""Operators provision locks and register the assets they hold."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.adapters.db import UnitOfWork
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import (
    Asset,
    AssetKind,
    Condition,
    Lock,
    ServicePolicy,
    check_asset_code,
    check_lock_id,
    unavailable_because,
)
from rental.services.ports import BrokerAccountsPort

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


def register_asset(
    uow: UnitOfWork, code: object, kind: object, lock_id: object, city_id: object
) -> Asset:
    if not isinstance(code, str) or not isinstance(lock_id, str) or not isinstance(city_id, str):
        raise InvalidInput("code, kind, lock_id and city_id are required strings")
    try:
        asset_kind = AssetKind(str(kind))
    except ValueError:
        kinds = ", ".join(k.value for k in AssetKind)
        raise InvalidInput(f"kind must be one of: {kinds}", "invalid_kind") from None
    asset = Asset(uuid.uuid4(), check_asset_code(code), asset_kind, city_id, lock_id)
    with uow:
        if uow.cities.currency_of(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        if uow.locks.get(lock_id) is None:
            raise NotFound(f"no lock {lock_id}", "lock_not_found")
        uow.assets.add(asset)
        uow.commit()
    return asset


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
        )
        row["unavailable"] = [
            reason.value for reason in unavailable_because(condition, now, policy)
        ]
    return rows
