"""Rules every lock report follows, whichever channel brought it: when it happened by the
lock's clock, whether a close comes after a ride's unlock, and the fields the lock sent
that failed their checks. Events (`lock_events`) and telemetry (`telemetry`) share them.
"""

import logging
from datetime import datetime

from rental.domain.rentals import Rental, RentalState
from rental.services.lock_reports import LockEventReported, TelemetryReported
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def report_time(lock_time: datetime | None, received_at: datetime) -> datetime:
    """The time of a report: the lock's, never after the report arrived (a lock's clock
    cannot bill the future); its arrival when the lock's time was unusable."""
    if lock_time is None:
        return received_at
    return min(lock_time, received_at)


def closes_ride(rental: Rental | None, boot: int, seq: int, at: datetime) -> bool:
    """A close ends the ride only if it comes after the ride's unlock
    (docs/lock-protocol.md §5.3)."""
    if rental is None or rental.state is not RentalState.ACTIVE:
        return False
    if not rental.is_after_unlock(boot, seq, at):
        log.warning(
            "lock %s: a close from before rental %s's unlock ignored", rental.lock_id, rental.id
        )
        return False
    return True


def record_problems(
    uow: UnitOfWork, channel: str, report: LockEventReported | TelemetryReported
) -> None:
    """Fields the lock sent that failed their checks, for operators (§3.1)."""
    lock_id, boot, seq, dropped = report.lock_id, report.boot, report.seq, report.dropped
    if dropped:
        log.info("lock %s: dropped fields of (%d, %d): %s", lock_id, boot, seq, dropped)
        uow.lock_log.record_problems(lock_id, channel, boot, seq, dict(dropped), report.received_at)
