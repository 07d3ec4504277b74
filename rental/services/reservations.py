"""Riders reserve a vehicle for a few minutes before they reach it.

A reserved vehicle disappears from search and from other riders' scans. The reservation
ends when its rider scans the vehicle, cancels, or lets it run out; lockctl's sweeper
ends the last kind, and any scan or reservation that meets an expired one ends it on
the spot. A rider who cancels holds again and again gets none for a while
(`rental.domain.fair_use.HoldRules`): each hold and its end are events in the city's
open data feeds.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.errors import Conflict, DuplicateRequest, LimitReached, NotFound
from rental.domain.fair_use import (
    DEFAULT_HOLD_RULES,
    HoldRules,
    holds_allowed_again_at,
    whole_minutes,
)
from rental.domain.fleet import AssetKind, ServicePolicy, is_reachable
from rental.domain.idempotency import KeyUse, Operation
from rental.domain.mds import VehicleEvent
from rental.domain.reservations import Reservation, ReservationState
from rental.services.commands.rides import CancelReservation, Reserve
from rental.services.idempotency import claim_key
from rental.services.pricing import check_rentable
from rental.services.read_models import ScanTarget
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import charge_fare

RESERVATION_CHARGE = "reservation"


def reserve(
    uow: UnitOfWork,
    command: Reserve,
    now: datetime,
    length: timedelta,
    policy: ServicePolicy,
    wallet_floor_minor: int = 0,
    rules: HoldRules = DEFAULT_HOLD_RULES,
) -> Reservation:
    """Reserve the vehicle for `length`; the same idempotency key answers the first.

    Raises NotFound, Conflict (the vehicle cannot be taken, or the rider holds another),
    or LimitReached (`hold_cool_down`, after repeated cancels; says when holds resume)."""
    try:
        return _reserve(uow, command, now, length, policy, wallet_floor_minor, rules)
    except DuplicateRequest:
        with uow:
            earlier = uow.reservations.by_idempotency_key(command.rider_id, command.idempotency_key)
        assert earlier is not None
        return earlier


def _reserve(
    uow: UnitOfWork,
    command: Reserve,
    now: datetime,
    length: timedelta,
    policy: ServicePolicy,
    wallet_floor_minor: int,
    rules: HoldRules,
) -> Reservation:
    rider_id, code = command.rider_id, command.asset_code
    with uow:
        claim_key(uow, rider_id, command.idempotency_key, KeyUse(Operation.HOLD, code))
        earlier = uow.reservations.by_idempotency_key(rider_id, command.idempotency_key)
        if earlier is not None:
            return earlier
        _check_cool_down(uow, rider_id, now, rules)
        target = uow.assets.for_scan(code, rider_id, for_update=True)
        if target is None:
            raise NotFound(f"no asset with code {code}", "asset_not_found")
        if claim_reservation(uow, target, rider_id, now, wallet_floor_minor) is not None:
            raise Conflict("you have reserved this vehicle already", "asset_reserved")
        mine = uow.reservations.held_by_rider(rider_id)
        if mine is not None and not mine.is_live(now):
            end_reservation(uow, mine, ReservationState.EXPIRED, now, wallet_floor_minor)
        if target.taken:
            raise Conflict("someone else is using this vehicle", "asset_in_use")
        plan = check_rentable(target, policy)
        lock = target.lock
        if not is_reachable(lock.online, lock.last_seen_at, now, policy.silence):
            raise Conflict("this vehicle's lock is offline", "lock_offline")
        reservation = Reservation(
            id=uuid.uuid4(),
            rider_id=rider_id,
            asset_id=target.asset.id,
            idempotency_key=command.idempotency_key,
            tariff=plan.tariff,
            created_at=now,
            expires_at=now + length,
        )
        uow.reservations.add(reservation)
        uow.vehicle_history.record(
            VehicleEvent.RESERVATION_START, now, asset_id=reservation.asset_id
        )
        uow.commit()
    return reservation


def _check_cool_down(uow: UnitOfWork, rider_id: uuid.UUID, now: datetime, rules: HoldRules) -> None:
    cancelled = uow.reservations.cancelled_by_rider_since(rider_id, now - rules.looking_back)
    retry_at = holds_allowed_again_at(cancelled, now, rules)
    if retry_at is None:
        return
    within = whole_minutes(rules.within)
    minutes = max(1, round((retry_at - now).total_seconds() / 60))
    raise LimitReached(
        f"you cancelled {rules.cancels} holds within {within} minutes: you can hold a vehicle "
        f"again in {minutes} minutes, at {retry_at.isoformat(timespec='minutes')} (you can "
        "still scan and ride now)",
        "hold_cool_down",
        retry_at=retry_at,
        now=now,
    )


def claim_reservation(
    uow: UnitOfWork,
    target: ScanTarget,
    rider_id: uuid.UUID,
    now: datetime,
    wallet_floor_minor: int,
) -> Reservation | None:
    """The scanning rider's own live reservation of this asset. Another rider's live
    reservation refuses the request; one that ran out is ended (and charged) on the spot."""
    if target.held_reservation_id is None:
        return None
    reservation = uow.reservations.get(target.held_reservation_id, for_update=True)
    assert reservation is not None
    if not reservation.is_live(now):
        end_reservation(uow, reservation, ReservationState.EXPIRED, now, wallet_floor_minor)
        return None
    if reservation.rider_id != rider_id:
        raise Conflict("someone else has reserved this vehicle", "asset_reserved")
    return reservation


def end_reservation(
    uow: UnitOfWork,
    reservation: Reservation,
    state: ReservationState,
    now: datetime,
    wallet_floor_minor: int,
    *,
    free: bool = False,
) -> None:
    """End a reservation inside the caller's transaction and charge what it cost."""
    fee = reservation.finish(state, now, free=free)
    uow.reservations.save(reservation)
    if state is not ReservationState.USED:  # a used reservation ends in the ride's trip_start
        assert reservation.ended_at is not None
        uow.vehicle_history.record(
            VehicleEvent.RESERVATION_END, reservation.ended_at, asset_id=reservation.asset_id
        )
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
    uow: UnitOfWork, command: CancelReservation, now: datetime, wallet_floor_minor: int = 0
) -> Reservation:
    """Cancelling an ended reservation answers how it ended: a retried cancel is harmless."""
    with uow:
        reservation = uow.reservations.get(command.reservation_id, for_update=True)
        if reservation is None or reservation.rider_id != command.rider_id:
            raise NotFound("no such reservation", "reservation_not_found")
        if reservation.state is ReservationState.HELD:
            live = reservation.is_live(now)
            state = ReservationState.CANCELLED if live else ReservationState.EXPIRED
            end_reservation(uow, reservation, state, now, wallet_floor_minor)
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
        reservation = uow.reservations.held_by_rider(rider_id)
    if reservation is None or not reservation.is_live(now):
        raise NotFound("you hold no reservation", "reservation_not_found")
    return reservation


@dataclass(frozen=True)
class HeldVehicle:
    """What the rider looks for: the held vehicle's code and kind, and where its lock last
    reported (WGS 84; None before its first fix). Search no longer shows it once held."""

    code: str
    kind: AssetKind
    lon: float | None
    lat: float | None


def held_vehicle(uow: UnitOfWork, reservation: Reservation) -> HeldVehicle:
    with uow:
        asset = uow.assets.get(reservation.asset_id)
        assert asset is not None  # a reservation names an asset that exists
        lock = uow.locks.get(asset.lock_id) if asset.lock_id else None
    lon, lat = (lock.lon, lock.lat) if lock is not None else (None, None)
    return HeldVehicle(asset.code, asset.kind, lon, lat)


def expire_reservations(uow: UnitOfWork, now: datetime, wallet_floor_minor: int = 0) -> int:
    """End every reservation that ran out (lockctl's sweeper calls this)."""
    with uow:
        due = uow.reservations.expired_before(now)
        for reservation in due:
            end_reservation(uow, reservation, ReservationState.EXPIRED, now, wallet_floor_minor)
        uow.commit()
    return len(due)
