"""What the platform does with each report from a lock, exactly once per report
(telemetry's rules are in `rental.services.telemetry`, which stores it in batches).

Times come from the lock's clock (that is when things happened), clamped to the
moment the report arrived so a lock with a wrong clock can never bill the future.
A ride is bounded by the lock's own order: only a report that comes after the
unlock's `(boot, seq)`, and not before it by the lock's clock, can end it
(docs/lock-protocol.md §5.3).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import assert_never

from rental.domain.alerts import AlertKind
from rental.domain.fleet import Lock
from rental.domain.funnel import Step
from rental.domain.mds import VehicleEvent
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.trace import Fix
from rental.services import items
from rental.services.funnel import rental_followed
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import (
    LockEventKind,
    LockEventReported,
    LockReport,
    PresenceReported,
    ReportRefused,
    ReportSettings,
    TelemetryReported,
)
from rental.services.report_rules import closes_ride, record_problems, report_time
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.signals import UnlockOutcome, UnlockSettled, announce, unlock_settled
from rental.services.telemetry import handle_telemetry
from rental.services.trips import end_trip
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class EventReceipt:
    """An event is stored: the acknowledgement its lock waits for, and whether this was
    its first copy (repeats change nothing, and are acknowledged all the same)."""

    acknowledgement: AcknowledgeEvent
    first_time: bool


def apply(
    uow: Callable[[], UnitOfWork], report: LockReport, settings: ReportSettings
) -> AcknowledgeEvent | None:
    """Apply one lock report. Returns the acknowledgement to send to the lock (events only).

    Raises ReportRefused when it can never be applied (an unknown lock, a reused (boot,
    seq)), `rental.domain.errors.Unavailable` when the database did not answer: the caller
    acknowledges nothing to the broker or to the lock before the transaction committed."""
    match report:
        case LockEventReported():
            return handle_event(uow(), report, settings.wallet_floor_minor).acknowledgement
        case TelemetryReported():
            handle_telemetry(uow(), report, settings.wallet_floor_minor, settings.low_battery_pct)
        case PresenceReported():
            handle_status(uow(), report)
        case _:
            assert_never(report)
    return None


def handle_event(
    uow: UnitOfWork, event: LockEventReported, wallet_floor_minor: int = 0
) -> EventReceipt:
    """Apply one lock event once; a repeat changes nothing but is acknowledged again.

    Raises ReportRefused for an unknown lock or an event reusing a telemetry's (boot, seq).
    """
    lock_id = event.lock_id
    at = report_time(event.lock_time, event.received_at)
    with uow:
        lock = uow.locks.get(lock_id)
        if lock is None:
            raise ReportRefused(f"event from unknown lock {lock_id}")
        if _may_reuse_a_fix(lock, event) and uow.lock_log.fix_exists(
            lock_id, event.boot, event.seq, at
        ):
            raise ReportRefused(f"(boot {event.boot}, seq {event.seq}) was used by telemetry")
        first_time = uow.lock_log.record_event(
            lock_id,
            event.boot,
            event.seq,
            event.kind.value,
            event.command_id,
            _as_reported(event),
            at,
        )
        unlock = None
        if first_time:
            record_problems(uow, "evt", event)
            unlock = _apply_event(uow, event, at, wallet_floor_minor)
        uow.commit()
    if unlock is not None:
        announce(unlock_settled, unlock)
    acknowledgement = AcknowledgeEvent(lock_id, lock.signing_key, event.boot, event.seq)
    return EventReceipt(acknowledgement, first_time)


def _may_reuse_a_fix(lock: Lock, event: LockEventReported) -> bool:
    """Whether a fix stored already may carry the event's (boot, seq). Every stored fix
    moved the lock's latch report to its own pair when newer, so an event newer than that
    cannot reuse one: the search (a statement on the partitioned fixes, planned for each
    call: 0.3 to 0.7 ms of PostgreSQL's 3 for a whole `unlocked` event, in its statement
    log) is skipped for events in order."""
    return lock.latch_report is None or (event.boot, event.seq) <= lock.latch_report


def _as_reported(event: LockEventReported) -> dict[str, object]:
    """The event as the lock sent it, kept with it under the protocol's field names (the
    lock's time unclamped, in ms since the epoch); absent fields left out."""
    fields: dict[str, object] = {
        "boot": event.boot,
        "seq": event.seq,
        "ts": None if event.lock_time is None else (event.lock_time - EPOCH) // _MILLISECOND,
        "type": event.kind.value,
        "cmd_id": event.command_id,
        "reason": event.reason,
        "lon": event.lon,
        "lat": event.lat,
        "slot": event.slot,
        "item": event.item,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _apply_event(
    uow: UnitOfWork, event: LockEventReported, at: datetime, wallet_floor_minor: int
) -> UnlockSettled | None:
    """Apply the event in `uow`'s transaction; returns how a rental's unlock ended when
    this event ended it, to announce once committed."""
    lock_id = event.lock_id
    match event.kind:
        case LockEventKind.UNLOCKED:
            newest = uow.locks.record_latch(
                lock_id, False, event.boot, event.seq, at, seen_at=event.received_at
            )
            rental = _confirm_unlock(uow, event, at)
            if rental is not None:
                if not newest:  # the lock reported since, and it was applied first
                    _end_if_closed_since(uow, rental, wallet_floor_minor)
                return _unlock_confirmed(rental, event)
        case LockEventKind.COMMAND_REJECTED:
            rental = _reject_unlock(uow, lock_id, event.command_id, event.reason, at)
            if rental is not None:
                return UnlockSettled(UnlockOutcome.REJECTED, rental.id, rental.unlock_command_id)
        case LockEventKind.LOCKED:
            uow.locks.record_latch(
                lock_id,
                True,
                event.boot,
                event.seq,
                at,
                seen_at=event.received_at,
                lon=event.lon,
                lat=event.lat,
            )
            rental = uow.rentals.open_for_lock(lock_id)
            if closes_ride(rental, event.boot, event.seq, at):
                assert rental is not None
                end_trip(uow, rental, at, _event_fix(event, at), wallet_floor_minor)
        case LockEventKind.RELEASED:
            rental = _confirm_unlock(uow, event, at)
            items.released(uow, event, rental, wallet_floor_minor)
            if rental is not None:
                return _unlock_confirmed(rental, event)
        case LockEventKind.RETURNED:
            items.returned(uow, event, at, wallet_floor_minor)
        case LockEventKind.FAULT:
            log.warning("lock %s reports fault %s", lock_id, event.reason)
        case LockEventKind.RANG:
            # Kept in the lock's log (above) with its command id: proof the bell sounded.
            log.info("lock %s rang its bell for command %s", lock_id, event.command_id)
        case _:
            assert_never(event.kind)
    return None


def _unlock_confirmed(rental: Rental, event: LockEventReported) -> UnlockSettled:
    """Waited: from the scan to the lock's answer arriving, both by the platform's clock."""
    outcome = UnlockOutcome.CONFIRMED_LATE if rental.late_unlock else UnlockOutcome.CONFIRMED
    waited = max((event.received_at - rental.requested_at).total_seconds(), 0.0)
    return UnlockSettled(outcome, rental.id, rental.unlock_command_id, waited)


def _event_fix(event: LockEventReported, at: datetime) -> Fix | None:
    if event.lon is None or event.lat is None:
        return None
    return Fix(at, event.lon, event.lat)


def _confirm_unlock(uow: UnitOfWork, event: LockEventReported, at: datetime) -> Rental | None:
    """The rental the lock (or cabinet) opened for, now active; None if none is.

    A confirmation after the unlock timed out is the rider's ride all the same (the bike is
    open in front of them), unless they have already taken another vehicle: then the latch
    is open without a rental, the vehicle is hidden and an operator is alerted."""
    lock_id, command_id = event.lock_id, event.command_id
    rental = None if command_id is None else uow.rentals.by_unlock_command(lock_id, command_id)
    if rental is not None and rental.state is RentalState.UNLOCKING:
        rental.confirm_unlock(max(at, rental.requested_at), event.boot, event.seq)
    elif rental is not None and _can_adopt(uow, rental):
        rental.adopt_late_unlock(max(at, rental.requested_at), event.boot, event.seq)
        log.warning("lock %s confirmed rental %s late: the ride is the rider's", lock_id, rental.id)
    else:
        log.warning("lock %s opened for command %s with no rental waiting", lock_id, command_id)
        if uow.cabinets.get(lock_id) is None:  # a cabinet's open slot is no open latch
            uow.alerts.open(
                AlertKind.LATCH_OPEN_WITHOUT_RENTAL,
                lock_id,
                f"opened at {at.isoformat()} for command {command_id} with no rental waiting",
                at,
            )
        return None
    uow.rentals.save(rental)
    rental_followed(uow, rental.id, Step.UNLOCKED, at)
    log.info(
        "lock %s opened for rental %s",
        lock_id,
        rental.id,
        extra={"rental_id": str(rental.id), "command_id": command_id, "lock_id": lock_id},
    )
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
    replayed dead letter): the ride ended then. Asked only when the unlock is not the
    lock's newest latch report: every close, event or telemetry, moves the lock's latch
    to its own (boot, seq), so without a newer one there is no close to find."""
    if rental.slot is not None or rental.unlock_boot is None or rental.unlock_seq is None:
        return
    assert rental.started_at is not None
    closed = uow.lock_log.first_close_after(
        rental.lock_id, rental.unlock_boot, rental.unlock_seq, rental.started_at
    )
    if closed is not None:
        end_trip(uow, rental, closed[0], closed[1], wallet_floor_minor)


def _reject_unlock(
    uow: UnitOfWork, lock_id: str, cmd_id: str | None, reason: str | None, at: datetime
) -> Rental | None:
    """The rental the refused command was for, now failed; None if none was waiting."""
    rental = None if cmd_id is None else uow.rentals.by_unlock_command(lock_id, cmd_id)
    log.warning("lock %s rejected command %s: %s", lock_id, cmd_id, reason)
    if rental is None or rental.state is not RentalState.UNLOCKING:
        return None
    rental.fail(FailureReason.REJECTED)
    uow.rentals.save(rental)
    rental_followed(uow, rental.id, Step.UNLOCKED, at, FailureReason.REJECTED.value)
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
    return rental


def handle_status(uow: UnitOfWork, status: PresenceReported) -> None:
    """Online or offline, unless the report comes from a boot older than the last seen (a
    late Will from before a reboot); a change is kept in the vehicle's history."""
    online, at = status.online, status.received_at
    with uow:
        was_online = uow.locks.record_presence(status.lock_id, online, status.boot, at)
        if was_online is not None and was_online != online:
            change = VehicleEvent.COMMS_RESTORED if online else VehicleEvent.COMMS_LOST
            uow.vehicle_history.record(change, at, lock_id=status.lock_id)
        uow.commit()
