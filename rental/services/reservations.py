"""Riders hold a vehicle for a few minutes before they reach it.

A held vehicle disappears from search and from other riders' scans. The hold ends when
its rider scans it, cancels, or lets it run out; lockctl's sweeper ends the last kind,
and any scan or reservation that meets an expired hold ends it on the spot.
"""

import uuid
from datetime import datetime, timedelta

from rental.adapters.db import UnitOfWork
from rental.adapters.repositories import DuplicateRequest
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import ServicePolicy, asset_code_from_qr, is_low, is_reachable
from rental.domain.reservations import Reservation, ReservationState
from rental.services.idempotency import check_idempotency_key
from rental.services.wallet import charge_fare

RESERVATION_CHARGE = "reservation"


def reserve(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    code: object,
    idempotency_key: object,
    now: datetime,
    hold: timedelta,
    policy: ServicePolicy,
    wallet_floor_minor: int = 0,
) -> Reservation:
    if not isinstance(code, str):
        raise InvalidInput("code is required: the vehicle's code or QR URL", "invalid_qr")
    asset_code = asset_code_from_qr(code)
    key = check_idempotency_key(idempotency_key)
    try:
        return _hold(uow, rider_id, asset_code, key, now, hold, policy, wallet_floor_minor)
    except DuplicateRequest:
        with uow:
            earlier = uow.reservations.by_idempotency_key(rider_id, key)
        assert earlier is not None
        return earlier


def _hold(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    code: str,
    key: str,
    now: datetime,
    hold: timedelta,
    policy: ServicePolicy,
    wallet_floor_minor: int,
) -> Reservation:
    with uow:
        earlier = uow.reservations.by_idempotency_key(rider_id, key)
        if earlier is not None:
            return earlier
        target = uow.assets.for_scan(code, rider_id, for_update=True)
        if target is None:
            raise NotFound(f"no asset with code {code}", "asset_not_found")
        if target.held_reservation_id is not None:
            held = uow.reservations.get(target.held_reservation_id, for_update=True)
            assert held is not None
            if held.is_live(now):
                raise Conflict("someone else has reserved this vehicle", "asset_reserved")
            end_hold(uow, held, ReservationState.EXPIRED, now, wallet_floor_minor)
        mine = uow.reservations.held_by_rider(rider_id)
        if mine is not None and not mine.is_live(now):
            end_hold(uow, mine, ReservationState.EXPIRED, now, wallet_floor_minor)
        lock = target.lock
        if target.taken:
            raise Conflict("someone else is using this vehicle", "asset_in_use")
        if not target.asset.in_service or target.open_damage_reports:
            raise Conflict("this vehicle is out of service", "asset_out_of_service")
        if is_low(lock.battery_pct, policy):
            raise Conflict("this vehicle's battery is too low to ride", "battery_low")
        if not is_reachable(lock.online, lock.last_seen_at, now, policy.silence):
            raise Conflict("this vehicle's lock is offline", "lock_offline")
        if target.plan is None:
            raise Conflict("this asset has no price in its city yet", "no_pricing_plan")
        if target.rider_debt_minor > 0:
            raise Conflict("settle what you owe first", "debt_outstanding")
        reservation = Reservation(
            id=uuid.uuid4(),
            rider_id=rider_id,
            asset_id=target.asset.id,
            idempotency_key=key,
            tariff=target.plan.tariff,
            created_at=now,
            expires_at=now + hold,
        )
        uow.reservations.add(reservation)
        uow.commit()
    return reservation


def end_hold(
    uow: UnitOfWork,
    reservation: Reservation,
    state: ReservationState,
    now: datetime,
    wallet_floor_minor: int,
    *,
    free: bool = False,
) -> None:
    """End a hold inside the caller's transaction and charge what it cost."""
    fee = reservation.finish(state, now, free=free)
    uow.reservations.save(reservation)
    charge_fare(
        uow,
        reservation.rider_id,
        reservation.tariff.currency,
        fee,
        f"reservation:{reservation.id}",
        wallet_floor_minor,
        kind=RESERVATION_CHARGE,
    )


def cancel(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    reservation_id: uuid.UUID,
    now: datetime,
    wallet_floor_minor: int = 0,
) -> Reservation:
    """Cancelling an ended hold answers how it ended, so a retried cancel is harmless."""
    with uow:
        reservation = uow.reservations.get(reservation_id, for_update=True)
        if reservation is None or reservation.rider_id != rider_id:
            raise NotFound("no such reservation", "reservation_not_found")
        if reservation.state is ReservationState.HELD:
            live = reservation.is_live(now)
            state = ReservationState.CANCELLED if live else ReservationState.EXPIRED
            end_hold(uow, reservation, state, now, wallet_floor_minor)
            uow.commit()
    return reservation


def reservation_of_rider(
    uow: UnitOfWork, rider_id: uuid.UUID, reservation_id: uuid.UUID
) -> Reservation:
    with uow:
        reservation = uow.reservations.get(reservation_id)
    if reservation is None or reservation.rider_id != rider_id:
        raise NotFound("no such reservation", "reservation_not_found")
    return reservation


def current_of_rider(uow: UnitOfWork, rider_id: uuid.UUID, now: datetime) -> Reservation:
    with uow:
        held = uow.reservations.held_by_rider(rider_id)
    if held is None or not held.is_live(now):
        raise NotFound("you hold no reservation", "reservation_not_found")
    return held


def expire_reservations(uow: UnitOfWork, now: datetime, wallet_floor_minor: int = 0) -> int:
    """Release every hold that ran out (lockctl's sweeper calls this)."""
    with uow:
        due = uow.reservations.expired_before(now)
        for reservation in due:
            end_hold(uow, reservation, ReservationState.EXPIRED, now, wallet_floor_minor)
        uow.commit()
    return len(due)
