"""Scan to unlock, confirmation, and the end of a trip with its fare.

The rider's request only records the rental and sends the signed command; the
lock's answer arrives later through lockctl (`rental.services.lock_events`).
"""

import json
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rental.domain.errors import Conflict, DuplicateRequest, InvalidInput, NotFound, RentalError
from rental.domain.fleet import Lock, ServicePolicy, is_reachable
from rental.domain.funnel import Step
from rental.domain.idempotency import KeyUse, Operation
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.reservations import ReservationState
from rental.domain.trace import good_fixes, path_length_m
from rental.services.commands.rides import RequestUnlock
from rental.services.funnel import refusal_marked, rental_followed, scan_marked
from rental.services.idempotency import claim_key
from rental.services.lock_commands import unlock_command
from rental.services.ports import LockCommandError, LockCommands
from rental.services.pricing import check_rentable
from rental.services.read_models import RideTrace, ScanTarget, ShownRental
from rental.services.reservations import claim_reservation, end_reservation
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.signals import UnlockOutcome, UnlockSettled, announce, unlock_settled
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unlocking:
    """The settings a scan runs under."""

    timeout: timedelta
    policy: ServicePolicy = field(default_factory=ServicePolicy)
    wallet_floor_minor: int = 0


def request_unlock(
    uow: UnitOfWork,
    locks: LockCommands,
    command: RequestUnlock,
    now: datetime,
    unlocking: Unlocking,
) -> Rental:
    """The scan: the rental, `unlocking` with its signed command sent (or already failed);
    a repeated idempotency key answers the first request's rental."""
    return request_unlock_shown(uow, locks, command, now, unlocking).rental


def request_unlock_shown(
    uow: UnitOfWork,
    locks: LockCommands,
    command: RequestUnlock,
    now: datetime,
    unlocking: Unlocking,
) -> ShownRental:
    """`request_unlock`, with the time zone the rider reads the rental's times on (read
    with the asset, so that the answer costs no other read)."""
    try:
        rental, lock, zone = _record_request(uow, command, now, unlocking)
    except DuplicateRequest:
        return _by_idempotency_key(uow, command.rider_id, command.idempotency_key)
    except RentalError as refusal:
        refusal_marked(uow, command.asset_code, command.app_visit, refusal, now)
        raise
    if lock is None:
        return ShownRental(rental, zone)
    try:
        locks.send(unlock_command(lock, rental))
    except LockCommandError:
        return ShownRental(_fail(uow, rental.id, FailureReason.LOCK_UNREACHABLE, now), zone)
    log.info(
        "unlock sent to lock %s for rental %s",
        lock.id,
        rental.id,
        extra=_unlock_fields(rental),
    )
    return ShownRental(rental, zone)


def _unlock_fields(rental: Rental) -> dict[str, str | None]:
    """What a log line about a scan's unlock carries, so that it can be followed through
    lockctl (whose lines about the command carry the same `command_id`)."""
    command = rental.unlock_command_id
    return {
        "rental_id": str(rental.id),
        "command_id": None if command is None else str(command),
        "lock_id": rental.lock_id,
    }


def _record_request(
    uow: UnitOfWork, command: RequestUnlock, now: datetime, how: Unlocking
) -> tuple[Rental, Lock | None, str | None]:
    """Store the rental; returns the lock to command (None when there is nothing to send)
    and the time zone of the asset's city."""
    rider_id, code, key = command.rider_id, command.asset_code, command.idempotency_key
    wallet_floor_minor = how.wallet_floor_minor
    with uow:
        claim_key(uow, rider_id, key, KeyUse(Operation.SCAN, code))
        target = uow.assets.for_scan(code, rider_id, key, for_update=True)
        if target is None:
            raise _why_not_found(uow, code)
        if target.earlier_rental_id is not None:
            earlier = uow.rentals.get(target.earlier_rental_id)
            assert earlier is not None
            return earlier, None, target.time_zone
        reservation = claim_reservation(uow, target, rider_id, now, wallet_floor_minor)
        plan = check_rentable(target, how.policy)
        asset, lock = target.asset, target.lock
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
            slot=asset.slot,  # an item: its cabinet releases this slot
        )
        reachable = is_reachable(lock.online, lock.last_seen_at, now, how.policy.silence)
        if reachable:
            rental.unlock_command_id = uuid.uuid4()
            rental.unlock_expires_at = now + how.timeout
        else:
            rental.fail(FailureReason.LOCK_OFFLINE)
        uow.rentals.add(rental)
        failure = None if reachable else FailureReason.LOCK_OFFLINE.value
        city = asset.city_id, target.time_zone
        scan_marked(uow, *city, now, rental.id, command.app_visit, failure)
        if reachable:
            _end_other_reservation(uow, target, rental.id, now, wallet_floor_minor)
        if reservation is not None:
            # The reservation ends here; it is free when the lock cannot be reached.
            reservation.rental_id = rental.id
            state = ReservationState.USED if reachable else ReservationState.CANCELLED
            end_reservation(uow, reservation, state, now, wallet_floor_minor, free=not reachable)
        uow.commit()
    if not reachable:
        log.info("lock %s is offline: rental %s failed", lock.id, rental.id)
        announce(unlock_settled, UnlockSettled(UnlockOutcome.LOCK_OFFLINE, rental.id))
    return rental, (lock if reachable else None), target.time_zone


def _why_not_found(uow: UnitOfWork, code: str) -> Exception:
    """An item out of every cabinet has no device to command: it is in someone's hands."""
    if uow.assets.by_code(code) is not None:
        return Conflict("this item is not in a cabinet", "item_not_docked")
    return NotFound(f"no asset with code {code}", "asset_not_found")


def _end_other_reservation(
    uow: UnitOfWork,
    target: ScanTarget,
    rental_id: uuid.UUID,
    now: datetime,
    wallet_floor_minor: int,
) -> None:
    """A rider who rides another vehicle than the one reserved no longer needs the
    reservation; it names the rental that took its place (so it is no cancel of the
    rider's own for the hold cool-down)."""
    other = target.rider_reservation_id
    if other is None or other == target.held_reservation_id:
        return
    reservation = uow.reservations.get(other, for_update=True)
    if reservation is not None and reservation.state is ReservationState.HELD:
        live = reservation.is_live(now)
        ending = ReservationState.CANCELLED if live else ReservationState.EXPIRED
        reservation.rental_id = rental_id
        end_reservation(uow, reservation, ending, now, wallet_floor_minor)


def _by_idempotency_key(uow: UnitOfWork, rider_id: uuid.UUID, key: str) -> ShownRental:
    with uow:
        rental = uow.rentals.by_idempotency_key(rider_id, key)
        assert rental is not None
        shown = uow.rentals.shown(rental.id)
    assert shown is not None
    return shown


def _fail(uow: UnitOfWork, rental_id: uuid.UUID, reason: FailureReason, now: datetime) -> Rental:
    with uow:
        rental = uow.rentals.get(rental_id, for_update=True)
        assert rental is not None
        failed = rental.state is RentalState.UNLOCKING
        if failed:
            rental.fail(reason)
            uow.rentals.save(rental)
            rental_followed(uow, rental.id, Step.UNLOCKED, now, reason.value)
            uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
            uow.commit()
    if failed:
        fields = _unlock_fields(rental)
        log.warning("unlock of rental %s failed: %s", rental.id, reason, extra=fields)
        news = UnlockSettled(UnlockOutcome(reason.value), rental.id, rental.unlock_command_id)
        announce(unlock_settled, news)
    return rental


def fail_unanswered_unlocks(uow: UnitOfWork, now: datetime, grace: timedelta) -> list[uuid.UUID]:
    """Rentals whose command expired unanswered fail with `timeout`; nothing was charged."""
    with uow:
        expired = uow.rentals.unlocking_expired_before(now - grace)
        for rental in expired:
            rental.fail(FailureReason.TIMEOUT)
            uow.rentals.save(rental)
            rental_followed(uow, rental.id, Step.UNLOCKED, now, FailureReason.TIMEOUT.value)
            if rental.slot is None:  # the latch may have opened unheard: keep it from riders
                uow.locks.mark_latch_unknown(rental.lock_id, rental.requested_at)
            uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
        uow.commit()
    for rental in expired:
        log.info("unlock of rental %s timed out", rental.id, extra=_unlock_fields(rental))
        news = UnlockSettled(UnlockOutcome.TIMEOUT, rental.id, rental.unlock_command_id)
        announce(unlock_settled, news)
    return [rental.id for rental in expired]


def rental_of_rider(uow: UnitOfWork, rider_id: uuid.UUID, rental_id: uuid.UUID) -> Rental:
    with uow:
        rental = uow.rentals.get(rental_id)
    # Another rider's rental is reported as missing, not forbidden: ids reveal nothing.
    if rental is None or rental.rider_id != rider_id:
        raise NotFound("no such rental", "rental_not_found")
    return rental


def rental_shown_to_rider(
    uow: UnitOfWork, rider_id: uuid.UUID, rental_id: uuid.UUID
) -> ShownRental:
    """`rental_of_rider` with the time zone of its city, in one read. Raises NotFound
    `rental_not_found`."""
    with uow:
        shown = uow.rentals.shown(rental_id)
    if shown is None or shown.rental.rider_id != rider_id:
        raise NotFound("no such rental", "rental_not_found")
    return shown


def time_zones_of(uow: UnitOfWork, found: Collection[Rental]) -> dict[uuid.UUID, str]:
    """The IANA time zone of each rental's city, by rental id: the clock riders read its
    times on."""
    with uow:
        zones = uow.cities.time_zones_of_assets({rental.asset_id for rental in found})
    return {rental.id: zones[rental.asset_id] for rental in found if rental.asset_id in zones}


def rentals_of_rider(
    uow: UnitOfWork, rider_id: uuid.UUID, limit: int, before: datetime | None
) -> list[Rental]:
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100", "invalid_limit")
    with uow:
        return uow.rentals.for_rider(rider_id, limit, before)


# About a metre: drops the jitter of a parked lock, keeps every turn of a street.
DISPLAY_TOLERANCE_DEGREES = 0.00001


def trace_of(
    uow: UnitOfWork, rider_id: uuid.UUID, rental_id: uuid.UUID, now: datetime
) -> RideTrace:
    """The trip's path: stored and simplified once ended, built from the good fixes so far
    while the trip runs (the live trip screen)."""
    rental = rental_of_rider(uow, rider_id, rental_id)
    with uow:
        if rental.state is RentalState.ACTIVE and rental.started_at is not None:
            good = good_fixes(uow.lock_log.fixes_between(rental.lock_id, rental.started_at, now))
            rental.distance_m = path_length_m(good)
            if len(good) < 2:
                return RideTrace(rental, None)
            return RideTrace(rental, [(fix.lon, fix.lat) for fix in good])
        stored = uow.rentals.trace_geojson(rental.id, DISPLAY_TOLERANCE_DEGREES)
    if not stored:
        return RideTrace(rental, None)
    return RideTrace(rental, [(lon, lat) for lon, lat in json.loads(stored)["coordinates"]])
