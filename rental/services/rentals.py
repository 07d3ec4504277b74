"""Scan to unlock, confirmation, and the end of a trip with its fare.

The rider's request only records the rental and sends the signed command; the
lock's answer arrives later through lockctl (`rental.services.lock_events`).
"""

import uuid
from datetime import datetime, timedelta

from rental.adapters.db import UnitOfWork
from rental.adapters.repositories import DuplicateRequest
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import Lock, asset_code_from_qr
from rental.domain.pricing import format_amount
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.services.ports import LockChannel, LockChannelError
from rental.services.pricing import deposit_due

RENTAL_STATE_CHANNEL = "rental_state"
MAX_IDEMPOTENCY_KEY_LENGTH = 64


def check_idempotency_key(key: object) -> str:
    if not isinstance(key, str) or not 8 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(
            "idempotency_key must be a string of 8 to 64 characters (a fresh UUID per scan)",
            "invalid_idempotency_key",
        )
    return key


def request_unlock(
    uow: UnitOfWork,
    locks: LockChannel,
    rider_id: uuid.UUID,
    qr: object,
    idempotency_key: object,
    now: datetime,
    unlock_timeout: timedelta,
) -> Rental:
    if not isinstance(qr, str):
        raise InvalidInput("qr is required: the scanned URL or the asset code", "invalid_qr")
    code = asset_code_from_qr(qr)
    key = check_idempotency_key(idempotency_key)
    try:
        rental, lock = _record_request(uow, rider_id, code, key, now, unlock_timeout)
    except DuplicateRequest:
        return _by_idempotency_key(uow, rider_id, key)
    if lock is None:
        return rental
    try:
        locks.send_unlock(lock, rental)
    except LockChannelError:
        return _fail(uow, rental.id, FailureReason.LOCK_UNREACHABLE)
    return rental


def _record_request(
    uow: UnitOfWork, rider_id: uuid.UUID, code: str, key: str, now: datetime, timeout: timedelta
) -> tuple[Rental, Lock | None]:
    """Store the rental; returns the lock to command, or None when there is nothing to send."""
    with uow:
        target = uow.assets.for_scan(code, rider_id, key)
        if target is None:
            raise NotFound(f"no asset with code {code}", "asset_not_found")
        if target.earlier_rental_id is not None:
            earlier = uow.rentals.get(target.earlier_rental_id)
            assert earlier is not None
            return earlier, None
        asset, lock, plan = target.asset, target.lock, target.plan
        if not asset.in_service:
            raise Conflict("this asset is out of service", "asset_out_of_service")
        if plan is None:
            raise Conflict("this asset has no price in its city yet", "no_pricing_plan")
        if target.rider_debt_minor > 0:
            owed = format_amount(target.rider_debt_minor, plan.tariff.currency)
            raise Conflict(f"settle your unpaid {owed} first", "debt_outstanding")
        due = deposit_due(target)
        if due > 0:
            waiver = plan.deposit_waiver_score
            hint = f" (a credit score of {waiver} waives it)" if waiver is not None else ""
            amount = format_amount(due, plan.tariff.currency)
            raise Conflict(f"a deposit of {amount} is needed first{hint}", "deposit_required")
        rental = Rental(
            id=uuid.uuid4(),
            rider_id=rider_id,
            asset_id=asset.id,
            lock_id=lock.id,
            tariff=plan.tariff,
            plan_id=plan.id,
            state=RentalState.UNLOCKING,
            requested_at=now,
            idempotency_key=key,
        )
        if lock.online:
            rental.unlock_command_id = uuid.uuid4()
            rental.unlock_expires_at = now + timeout
        else:
            rental.fail(FailureReason.LOCK_OFFLINE)
        uow.rentals.add(rental)
        uow.commit()
    return rental, (lock if lock.online else None)


def _by_idempotency_key(uow: UnitOfWork, rider_id: uuid.UUID, key: str) -> Rental:
    with uow:
        rental = uow.rentals.by_idempotency_key(rider_id, key)
    assert rental is not None
    return rental


def _fail(uow: UnitOfWork, rental_id: uuid.UUID, reason: FailureReason) -> Rental:
    with uow:
        rental = uow.rentals.get(rental_id, for_update=True)
        assert rental is not None
        if rental.state is RentalState.UNLOCKING:
            rental.fail(reason)
            uow.rentals.save(rental)
            uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
            uow.commit()
    return rental


def fail_unanswered_unlocks(uow: UnitOfWork, now: datetime, grace: timedelta) -> list[uuid.UUID]:
    """Rentals whose command expired unanswered fail with `timeout`; nothing was charged."""
    with uow:
        expired = uow.rentals.unlocking_expired_before(now - grace)
        for rental in expired:
            rental.fail(FailureReason.TIMEOUT)
            uow.rentals.save(rental)
            uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
        uow.commit()
    return [rental.id for rental in expired]


def rental_of_rider(uow: UnitOfWork, rider_id: uuid.UUID, rental_id: uuid.UUID) -> Rental:
    with uow:
        rental = uow.rentals.get(rental_id)
    # Another rider's rental is reported as missing, not forbidden: ids reveal nothing.
    if rental is None or rental.rider_id != rider_id:
        raise NotFound("no such rental", "rental_not_found")
    return rental


def rentals_of_rider(
    uow: UnitOfWork, rider_id: uuid.UUID, limit: int, before: datetime | None
) -> list[Rental]:
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100", "invalid_limit")
    with uow:
        return uow.rentals.for_rider(rider_id, limit, before)
