"""What the platform does with each report from a lock, exactly once per report.

Times come from the lock's clock (that is when things happened), clamped to the
moment the report arrived so a lock with a wrong clock can never bill the future.
A ride is bounded by the lock's own order: only a report that comes after the
unlock's `(boot, seq)`, and not before it by the lock's clock, can end it
(docs/lock-protocol.md §5.3).
"""

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from shapely.geometry import LineString

from lockctl.protocol import Dropped, Event, EventType, Presence, Status, Telemetry
from rental.domain.alerts import AlertKind
from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.domain.mds import VehicleEvent, battery_change
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.trace import (
    EndPosition,
    Fix,
    ended_trace,
    path_length_m,
    speed_samples,
)
from rental.domain.zones import UNKNOWN_POSITION, ParkingVerdict, parking_verdict
from rental.services import items, zones
from rental.services.settlement import RENTAL_STATE_CHANNEL, settle
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ReportRefused(Exception):
    """A report that can never be processed (unknown lock, a reused (boot, seq)): it goes to
    the dead letters with this reason instead of being retried."""


@dataclass(frozen=True)
class EventReceipt:
    """An event is stored: acknowledge `(boot, seq)` to the lock, signed with its key."""

    lock_id: str
    boot: int
    seq: int
    signing_key: bytes
    first_time: bool


def lock_time(ms: int | None, received_at: datetime) -> datetime:
    """The lock's time of a report, never after it arrived; its arrival when unusable."""
    if ms is None:
        return received_at
    return min(datetime.fromtimestamp(ms / 1000, UTC), received_at)


def handle_event(
    uow: UnitOfWork, lock_id: str, event: Event, received_at: datetime, wallet_floor_minor: int = 0
) -> EventReceipt:
    """Apply one lock event once; a repeat changes nothing but is acknowledged again.

    Raises ReportRefused for an unknown lock or an event reusing a telemetry's (boot, seq).
    """
    at = lock_time(event.ts, received_at)
    payload = {k: v for k, v in asdict(event).items() if v is not None and k != "dropped"}
    with uow:
        lock = uow.locks.get(lock_id)
        if lock is None:
            raise ReportRefused(f"event from unknown lock {lock_id}")
        if uow.lock_log.fix_exists(lock_id, event.boot, event.seq):
            raise ReportRefused(f"(boot {event.boot}, seq {event.seq}) was used by telemetry")
        first_time = uow.lock_log.record_event(
            lock_id, event.boot, event.seq, event.type.value, event.cmd_id, payload, at
        )
        if first_time:
            _record_problems(uow, lock_id, "evt", event.boot, event.seq, event.dropped, received_at)
            _apply(uow, lock_id, event, at, received_at, wallet_floor_minor)
        uow.commit()
    return EventReceipt(lock_id, event.boot, event.seq, lock.signing_key, first_time)


def _apply(
    uow: UnitOfWork,
    lock_id: str,
    event: Event,
    at: datetime,
    received_at: datetime,
    wallet_floor_minor: int,
) -> None:
    match event.type:
        case EventType.UNLOCKED:
            uow.locks.record_latch(lock_id, False, event.boot, event.seq, at)
            uow.locks.record_seen(lock_id, received_at)
            rental = _confirm_unlock(uow, lock_id, event, at)
            if rental is not None:
                _end_if_closed_since(uow, rental, wallet_floor_minor)
        case EventType.CMD_REJECTED:
            _reject_unlock(uow, lock_id, event.cmd_id, event.reason)
        case EventType.LOCKED:
            uow.locks.record_latch(lock_id, True, event.boot, event.seq, at)
            uow.locks.record_seen(lock_id, received_at, lon=event.lon, lat=event.lat)
            rental = uow.rentals.open_for_lock(lock_id)
            if _ends(rental, event.boot, event.seq, at):
                assert rental is not None
                _end_trip(uow, rental, at, _event_fix(event, at), wallet_floor_minor)
        case EventType.RELEASED:
            rental = _confirm_unlock(uow, lock_id, event, at)
            items.released(uow, lock_id, event, rental)
        case EventType.RETURNED:
            items.returned(uow, lock_id, event, at, wallet_floor_minor)
        case EventType.FAULT:
            log.warning("lock %s reports fault %s", lock_id, event.reason)


def _ends(rental: Rental | None, boot: int, seq: int, at: datetime) -> bool:
    """A close ends the ride only if it comes after the ride's unlock (§5.3)."""
    if rental is None or rental.state is not RentalState.ACTIVE:
        return False
    if not rental.is_after_unlock(boot, seq, at):
        log.warning(
            "lock %s: a close from before rental %s's unlock ignored", rental.lock_id, rental.id
        )
        return False
    return True


def _record_problems(
    uow: UnitOfWork,
    lock_id: str,
    channel: str,
    boot: int,
    seq: int,
    dropped: Dropped,
    received_at: datetime,
) -> None:
    if dropped:
        log.info("lock %s: dropped fields of (%d, %d): %s", lock_id, boot, seq, dropped)
        uow.lock_log.record_problems(lock_id, channel, boot, seq, dict(dropped), received_at)


def _event_fix(event: Event, at: datetime) -> Fix | None:
    if event.lon is None or event.lat is None:
        return None
    return Fix(at, event.lon, event.lat)


def _confirm_unlock(uow: UnitOfWork, lock_id: str, event: Event, at: datetime) -> Rental | None:
    """The rental the lock (or cabinet) opened for, now active; None if none is.

    A confirmation after the unlock timed out is the rider's ride all the same (the bike is
    open in front of them), unless they have already taken another vehicle: then the latch
    is open without a rental, the vehicle is hidden and an operator is alerted."""
    rental = None if event.cmd_id is None else uow.rentals.by_unlock_command(lock_id, event.cmd_id)
    if rental is not None and rental.state is RentalState.UNLOCKING:
        rental.confirm_unlock(max(at, rental.requested_at), event.boot, event.seq)
    elif rental is not None and _can_adopt(uow, rental):
        rental.adopt_late_unlock(max(at, rental.requested_at), event.boot, event.seq)
        log.warning("lock %s confirmed rental %s late: the ride is the rider's", lock_id, rental.id)
    else:
        log.warning("lock %s opened for command %s with no rental waiting", lock_id, event.cmd_id)
        if uow.cabinets.get(lock_id) is None:  # a cabinet's open slot is no open latch
            uow.alerts.open(
                AlertKind.LATCH_OPEN_WITHOUT_RENTAL,
                lock_id,
                f"opened at {at.isoformat()} for command {event.cmd_id} with no rental waiting",
                at,
            )
        return None
    uow.rentals.save(rental)
    assert rental.started_at is not None
    uow.vehicle_history.record(
        VehicleEvent.TRIP_START, rental.started_at, asset_id=rental.asset_id, rental_id=rental.id
    )
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
    return rental


def _can_adopt(uow: UnitOfWork, rental: Rental) -> bool:
    if rental.state is not RentalState.FAILED or rental.failure_reason is not FailureReason.TIMEOUT:
        return False
    # Another rental of this vehicle, or of this rider, took over since: not theirs to pay.
    return uow.rentals.open_for_asset(rental.asset_id) is None and not uow.rentals.has_open(
        rental.rider_id
    )


def _end_if_closed_since(uow: UnitOfWork, rental: Rental, wallet_floor_minor: int) -> None:
    """A close the lock reported after this unlock, processed before it (a late unlock, a
    replayed dead letter): the ride ended then."""
    if rental.slot is not None or rental.unlock_boot is None or rental.unlock_seq is None:
        return
    assert rental.started_at is not None
    closed = uow.lock_log.first_close_after(
        rental.lock_id, rental.unlock_boot, rental.unlock_seq, rental.started_at
    )
    if closed is not None:
        _end_trip(uow, rental, closed[0], closed[1], wallet_floor_minor)


def _reject_unlock(uow: UnitOfWork, lock_id: str, cmd_id: str | None, reason: str | None) -> None:
    rental = None if cmd_id is None else uow.rentals.by_unlock_command(lock_id, cmd_id)
    log.warning("lock %s rejected command %s: %s", lock_id, cmd_id, reason)
    if rental is None or rental.state is not RentalState.UNLOCKING:
        return
    rental.fail(FailureReason.REJECTED)
    uow.rentals.save(rental)
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))


def end_trip(
    uow: UnitOfWork, rental: Rental, at: datetime, reported: Fix | None, wallet_floor_minor: int
) -> None:
    """End an active ride at `at` (the lock's time of the close): trace, parking, fare."""
    _end_trip(uow, rental, at, reported, wallet_floor_minor)


def _end_trip(
    uow: UnitOfWork, rental: Rental, at: datetime, reported: Fix | None, wallet_floor_minor: int
) -> None:
    assert rental.started_at is not None
    until = max(at, rental.started_at)
    trace = ended_trace(
        uow.lock_log.fixes_between(rental.lock_id, rental.started_at, until), reported
    )
    good, end = trace.good, trace.end
    rental.end(until, path_length_m(good))
    _store_trace(uow, rental, good, end)
    asset = uow.assets.get(rental.asset_id)
    assert asset is not None
    verdict = _parking_verdict(uow, asset.city_id, end)
    rental.judge_parking(verdict, end.doubt)
    uow.rentals.save(rental)
    uow.assets.set_needs_retrieval(asset.id, verdict.needs_retrieval)
    uow.assets.rotate_public_id(asset.id)
    zones.record_speeding(uow, rental.id, asset.city_id, speed_samples(good))
    assert rental.ended_at is not None
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
    here = uow.zones.at_position(city_id, end.lon, end.lat)
    return parking_verdict(here.inside_service_area, here.kinds, doubtful=end.doubt is not None)


def handle_telemetry(
    uow: UnitOfWork,
    lock_id: str,
    report: Telemetry,
    received_at: datetime,
    wallet_floor_minor: int = 0,
    low_battery_pct: int = ServicePolicy.low_battery_pct,
) -> None:
    """Record a fix, the latch and the battery. A lock that reports itself locked after a
    ride's unlock ends it (at `latch_ts`, when the lock sends it): should its `locked` event
    be lost, the rider must not be charged on and on.

    Raises ReportRefused for a report reusing an event's (boot, seq)."""
    at = lock_time(report.ts, received_at)
    with uow:
        if uow.lock_log.event_exists(lock_id, report.boot, report.seq):
            raise ReportRefused(f"(boot {report.boot}, seq {report.seq}) was used by an event")
        if report.lon is not None and report.lat is not None:
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
                return  # an unknown lock: telemetry is not worth a dead letter
        else:
            new_fix = True  # no position to deduplicate by; the rest is idempotent
        if new_fix:
            _apply_telemetry(uow, lock_id, report, at, received_at, low_battery_pct)
            if report.locked:
                _end_by_telemetry(uow, lock_id, report, at, received_at, wallet_floor_minor)
        uow.commit()


def _apply_telemetry(
    uow: UnitOfWork,
    lock_id: str,
    report: Telemetry,
    at: datetime,
    received_at: datetime,
    low_battery_pct: int,
) -> None:
    _record_problems(
        uow, lock_id, "telemetry", report.boot, report.seq, report.dropped, received_at
    )
    uow.locks.record_latch(lock_id, report.locked, report.boot, report.seq, at)
    battery_before = uow.locks.record_seen(
        lock_id, received_at, battery_pct=report.battery_pct, lon=report.lon, lat=report.lat
    )
    change = battery_change(battery_before, report.battery_pct, low_battery_pct)
    if change is not None:
        uow.vehicle_history.record(change, at, lock_id=lock_id)


def _end_by_telemetry(
    uow: UnitOfWork,
    lock_id: str,
    report: Telemetry,
    at: datetime,
    received_at: datetime,
    wallet_floor_minor: int,
) -> None:
    rental = uow.rentals.open_for_lock(lock_id)
    closed_at = lock_time(report.latch_ts, at) if report.latch_ts is not None else at
    if not _ends(rental, report.boot, report.seq, closed_at):
        return
    assert rental is not None
    reported = None
    if report.lon is not None and report.lat is not None:
        reported = Fix(closed_at, report.lon, report.lat, report.accuracy_m)
    _end_trip(uow, rental, closed_at, reported, wallet_floor_minor)


def handle_status(uow: UnitOfWork, lock_id: str, status: Status, received_at: datetime) -> None:
    online = status.state is Presence.ONLINE
    with uow:
        was_online = uow.locks.record_presence(lock_id, online, status.boot, received_at)
        if was_online is not None and was_online != online:
            change = VehicleEvent.COMMS_RESTORED if online else VehicleEvent.COMMS_LOST
            uow.vehicle_history.record(change, received_at, lock_id=lock_id)
        uow.commit()
