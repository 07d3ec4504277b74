"""The reconciling pass: the latches locks report against the rentals the platform keeps.

It repairs what it can (a ride whose lock already reported a close after its unlock is
ended at that close) and raises what it cannot (a latch open without a rental is an
alert until it closes). lockctl runs it every few seconds; it is idempotent.
"""

from dataclasses import dataclass
from datetime import datetime

from rental.domain.alerts import Alert, AlertKind
from rental.domain.errors import NotFound
from rental.services.cities import check_known
from rental.services.read_models import LockReportProblem
from rental.services.trips import end_trip
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Reconciliation:
    rides_ended: int
    alerts_opened: int
    alerts_resolved: int


def reconcile_latches(uow: UnitOfWork, now: datetime, wallet_floor_minor: int) -> Reconciliation:
    with uow:
        ended = 0
        for rental in uow.rentals.riding_with_close_reported():
            assert rental.unlock_boot is not None and rental.unlock_seq is not None
            assert rental.started_at is not None
            closed = uow.lock_log.first_close_after(
                rental.lock_id, rental.unlock_boot, rental.unlock_seq, rental.started_at
            )
            if closed is not None:
                end_trip(uow, rental, closed[0], closed[1], wallet_floor_minor)
                ended += 1
        open_latches = uow.locks.open_latches_without_rental()
        opened = 0
        for lock_id, since in open_latches:
            detail = f"latch reported open at {(since or now).isoformat()} with no rental"
            opened += uow.alerts.open(AlertKind.LATCH_OPEN_WITHOUT_RENTAL, lock_id, detail, now)
        resolved = uow.alerts.resolve_all_but(
            AlertKind.LATCH_OPEN_WITHOUT_RENTAL, {lock_id for lock_id, _ in open_latches}, now
        )
        resolved += uow.alerts.resolve_misplaced_items_moved(now)
        uow.commit()
    return Reconciliation(ended, opened, resolved)


def lock_problems(uow: UnitOfWork, lock_id: str, limit: int) -> list[LockReportProblem]:
    """Fields this lock sent that failed their checks, newest first. Raises NotFound."""
    with uow:
        if uow.locks.get(lock_id) is None:
            raise NotFound(f"no lock {lock_id}", "lock_not_found")
        return uow.lock_log.problems_of(lock_id, limit)


def open_alerts(uow: UnitOfWork, city_id: str | None) -> tuple[list[Alert], int]:
    """The open alerts (newest first), and how many dead letters wait for an operator."""
    with uow:
        check_known(uow, city_id)
        return uow.alerts.list(city_id), uow.dead_letters.count_open()
