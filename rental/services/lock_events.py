"""What the platform does with each report from a lock, exactly once per report.

Times come from the lock's clock (that is when things happened), clamped to the
moment the report arrived so a lock with a wrong clock can never bill the future.
"""

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from shapely.geometry import LineString

from lockctl.protocol import Event, EventType, Presence, Status, Telemetry
from rental.adapters.db import UnitOfWork
from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.domain.mds import VehicleEvent, battery_change
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.trace import (
    EndPosition,
    Fix,
    end_position,
    good_fixes,
    is_valid_position,
    speed_samples,
)
from rental.domain.zones import UNKNOWN_POSITION, ParkingVerdict, parking_verdict
from rental.services import items
from rental.services.settlement import RENTAL_STATE_CHANNEL, settle

log = logging.getLogger(__name__)


def lock_time(ms: int, received_at: datetime) -> datetime:
    return min(datetime.fromtimestamp(ms / 1000, UTC), received_at)


def handle_event(
    uow: UnitOfWork, lock_id: str, event: Event, received_at: datetime, wallet_floor_minor: int = 0
) -> bool:
    """Apply one lock event; False when it is a redelivery or from an unknown lock."""
    at = lock_time(event.ts, received_at)
    payload = {k: v for k, v in asdict(event).items() if v is not None}
    with uow:
        try:
            first_time = uow.lock_log.record_event(
                lock_id, event.boot, event.seq, event.type.value, event.cmd_id, payload, at
            )
        except NotFound:
            log.warning("event from unknown lock %s", lock_id)
            return False
        if not first_time:
            return False
        match event.type:
            case EventType.UNLOCKED:
                uow.locks.record_seen(lock_id, received_at, locked=False)
                _confirm_unlock(uow, lock_id, event.cmd_id, at)
            case EventType.CMD_REJECTED:
                _reject_unlock(uow, lock_id, event.cmd_id, event.reason)
            case EventType.LOCKED:
                uow.locks.record_seen(
                    lock_id, received_at, locked=True, lon=event.lon, lat=event.lat
                )
                _end_trip(uow, lock_id, at, _event_fix(event, at), wallet_floor_minor)
            case EventType.RELEASED:
                rental = _confirm_unlock(uow, lock_id, event.cmd_id, at)
                items.released(uow, lock_id, event, rental)
            case EventType.RETURNED:
                items.returned(uow, lock_id, event, at, wallet_floor_minor)
            case EventType.FAULT:
                log.warning("lock %s reports fault %s", lock_id, event.reason)
        uow.commit()
    return True


def _event_fix(event: Event, at: datetime) -> Fix | None:
    if event.lon is None or event.lat is None:
        return None
    return Fix(at, event.lon, event.lat)


def _command_rental(uow: UnitOfWork, lock_id: str, cmd_id: str | None) -> Rental | None:
    return None if cmd_id is None else uow.rentals.by_unlock_command(lock_id, cmd_id)


def _confirm_unlock(
    uow: UnitOfWork, lock_id: str, cmd_id: str | None, at: datetime
) -> Rental | None:
    """The rental the lock (or cabinet) opened for, now active; None if none waited."""
    rental = _command_rental(uow, lock_id, cmd_id)
    if rental is None or rental.state is not RentalState.UNLOCKING:
        # Opened without a rental waiting for it (late answer after a timeout, or tampering).
        log.warning("lock %s opened for command %s with no rental waiting", lock_id, cmd_id)
        return None
    rental.confirm_unlock(max(at, rental.requested_at))
    uow.rentals.save(rental)
    assert rental.started_at is not None
    uow.vehicle_history.record(
        VehicleEvent.TRIP_START, rental.started_at, asset_id=rental.asset_id, rental_id=rental.id
    )
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
    return rental


def _reject_unlock(uow: UnitOfWork, lock_id: str, cmd_id: str | None, reason: str | None) -> None:
    rental = _command_rental(uow, lock_id, cmd_id)
    log.warning("lock %s rejected command %s: %s", lock_id, cmd_id, reason)
    if rental is None or rental.state is not RentalState.UNLOCKING:
        return
    rental.fail(FailureReason.REJECTED)
    uow.rentals.save(rental)
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))


def _end_trip(
    uow: UnitOfWork,
    lock_id: str,
    at: datetime,
    reported: Fix | None,
    wallet_floor_minor: int,
    *,
    from_telemetry: bool = False,
) -> None:
    rental = uow.rentals.open_for_lock(lock_id)
    if rental is None or rental.state is not RentalState.ACTIVE:
        return
    assert rental.started_at is not None
    if from_telemetry and at <= rental.started_at:
        return  # a report from before the latch opened, delivered late
    rental.end(at)
    assert rental.ended_at is not None
    good = good_fixes(uow.lock_log.fixes_between(lock_id, rental.started_at, rental.ended_at))
    end = end_position(good, reported)
    _store_trace(uow, rental, good, end)
    asset = uow.assets.get(rental.asset_id)
    assert asset is not None
    verdict = _parking_verdict(uow, asset.city_id, end)
    rental.judge_parking(verdict, end.doubt)
    uow.rentals.save(rental)
    uow.assets.set_needs_retrieval(asset.id, verdict.needs_retrieval)
    uow.assets.rotate_public_id(asset.id)
    uow.zones.record_speeding(rental.id, asset.city_id, speed_samples(good))
    uow.vehicle_history.record(
        VehicleEvent.TRIP_END,
        rental.ended_at,
        asset_id=asset.id,
        rental_id=rental.id,
        lon=end.lon,
        lat=end.lat,
    )
    settle(uow, rental, wallet_floor_minor, parking_violation=verdict.charge_fee)


def _store_trace(uow: UnitOfWork, rental: Rental, good: list[Fix], end: EndPosition) -> None:
    path = [(fix.lon, fix.lat) for fix in good]
    if end.lon is not None and end.lat is not None:
        uow.rentals.set_end_position(rental.id, end.lon, end.lat)
        if not path or path[-1] != (end.lon, end.lat):
            path.append((end.lon, end.lat))
    rental.distance_m = (
        uow.rentals.set_trace(rental.id, LineString(path).wkt) if len(path) > 1 else 0.0
    )


def _parking_verdict(uow: UnitOfWork, city_id: str, end: EndPosition) -> ParkingVerdict:
    if end.lon is None or end.lat is None:
        return UNKNOWN_POSITION
    inside, kinds = uow.zones.at_position(city_id, end.lon, end.lat)
    return parking_verdict(inside, kinds, doubtful=end.doubt is not None)


def handle_telemetry(
    uow: UnitOfWork,
    lock_id: str,
    report: Telemetry,
    received_at: datetime,
    wallet_floor_minor: int = 0,
    low_battery_pct: int = ServicePolicy.low_battery_pct,
) -> None:
    """Record a fix. A lock that reports itself locked during a trip ends it: should its
    `locked` event be lost, the rider must not be charged on and on."""
    if not is_valid_position(report.lon, report.lat):
        log.info("lock %s sent an impossible position; ignored", lock_id)
        return
    at = lock_time(report.ts, received_at)
    with uow:
        try:
            new_fix = uow.lock_log.record_fix(
                lock_id,
                report.boot,
                report.seq,
                at,
                report.lon,
                report.lat,
                report.locked,
                report.battery_pct,
                report.accuracy_m,
            )
        except NotFound:
            return
        if new_fix:
            battery_before = uow.locks.record_seen(
                lock_id,
                received_at,
                locked=report.locked,
                battery_pct=report.battery_pct,
                lon=report.lon,
                lat=report.lat,
            )
            change = battery_change(battery_before, report.battery_pct, low_battery_pct)
            if change is not None:
                uow.vehicle_history.record(change, at, lock_id=lock_id)
            if report.locked:
                reported = Fix(at, report.lon, report.lat, report.accuracy_m)
                _end_trip(uow, lock_id, at, reported, wallet_floor_minor, from_telemetry=True)
        uow.commit()


def handle_status(uow: UnitOfWork, lock_id: str, status: Status, received_at: datetime) -> None:
    online = status.state is Presence.ONLINE
    with uow:
        was_online = uow.locks.record_presence(lock_id, online, status.boot, received_at)
        if was_online is not None and was_online != online:
            change = VehicleEvent.COMMS_RESTORED if online else VehicleEvent.COMMS_LOST
            uow.vehicle_history.record(change, received_at, lock_id=lock_id)
        uow.commit()
