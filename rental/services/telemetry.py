"""What the platform does with telemetry (docs/lock-protocol.md §6), a batch at a time.

lockctl stores the fixes of many locks in one transaction, and those of a lock whose ride
they may end in one of its own (`ingest_telemetry`); a single report, say a dead letter
replayed, is a batch of one (`handle_telemetry`). Within a
batch the rules are those of one report after another:
- a fix is stored once per (lock, boot, seq): a repeat changes nothing;
- a report reusing the (boot, seq) of an event is refused (it becomes a dead letter),
  and one from a lock the platform does not know is dropped (it is not worth one);
- a lock's row (latch, battery, position) follows its newest report by the lock's own
  order, (boot, seq), so a report delivered late never overrides a newer one, whichever
  batch or lockctl instance stores it; its last sight is the latest arrival;
- a battery crossing the low mark is kept in the vehicle's history;
- a lock that reports itself locked after a ride's unlock ends the ride at its latch
  time: should its `locked` event be lost, the rider must not be charged on and on.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rental.domain.fleet import ServicePolicy
from rental.domain.mds import battery_change
from rental.domain.trace import Fix
from rental.services.lock_reports import ReportRefused, TelemetryReported
from rental.services.report_rules import closes_ride, record_problems, report_time
from rental.services.repositories.fleet import LatchRecord, LatchReport, LockTelemetry
from rental.services.repositories.rides import LockFix, ReportKey
from rental.services.trips import end_trip
from rental.services.unit_of_work import UnitOfWork


@dataclass
class TelemetryIngested:
    """What became of a batch: `applied` reports changed something (in the batch's order
    per lock: (boot, seq)); `refused` maps a report's position in the batch to why it can
    never be processed; repeats and unknown locks were dropped."""

    applied: list[TelemetryReported] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    repeats: int = 0
    unknown_locks: int = 0


def handle_telemetry(
    uow: UnitOfWork,
    report: TelemetryReported,
    wallet_floor_minor: int = 0,
    low_battery_pct: int = ServicePolicy.low_battery_pct,
) -> None:
    """Apply one report. Raises ReportRefused for a report reusing an event's (boot, seq)."""
    outcome = ingest_telemetry(uow, [report], wallet_floor_minor, low_battery_pct)
    if outcome.refused:
        raise ReportRefused(outcome.refused[0])


def ingest_telemetry(
    uow: UnitOfWork,
    reports: Sequence[TelemetryReported],
    wallet_floor_minor: int = 0,
    low_battery_pct: int = ServicePolicy.low_battery_pct,
) -> TelemetryIngested:
    """Apply a batch of reports, from any locks in any order: one transaction for the
    batch, and after it one for each lock whose reports may end its ride.

    A transaction holds its locks' rows to its end, and an event of one of them (an
    unlock's answer) waits for it. Ending a ride bills it (the fare, the ledger, the
    credit score): the batch does not hold its other locks' rows through that. Which
    locks may end a ride is read before any row is taken; a ride that opens after that
    read is ended in the batch's transaction, as before. In each transaction the locks'
    rows are taken only once the fixes are stored, just before they change, and read
    again under the lock, so the reports apply to the rows as they are then.

    Raises `rental.domain.errors.Unavailable` when the database did not answer: what
    committed before is kept, and applying the same batch again is safe (a stored fix is
    a repeat)."""
    outcome = TelemetryIngested()
    indexed = list(enumerate(reports))
    with uow:
        ending = uow.rentals.locks_with_open_trip(
            {report.lock_id for report in reports if report.locked}
        )
        batch = [(index, report) for index, report in indexed if report.lock_id not in ending]
        _apply_in(uow, batch, outcome, wallet_floor_minor, low_battery_pct)
        uow.commit()
    for lock_id in sorted(ending):
        with uow:
            its_own = [(index, report) for index, report in indexed if report.lock_id == lock_id]
            _apply_in(uow, its_own, outcome, wallet_floor_minor, low_battery_pct)
            uow.commit()
    return outcome


def _apply_in(
    uow: UnitOfWork,
    reports: Sequence[tuple[int, TelemetryReported]],
    outcome: TelemetryIngested,
    wallet_floor_minor: int,
    low_battery_pct: int,
) -> None:
    """Apply `reports` (each with its position in the batch) in `uow`'s transaction."""
    known = uow.locks.known({report.lock_id for _, report in reports})
    candidates = _first_copies(reports, known, outcome)
    used = uow.lock_log.events_among([_key(report) for _, report in candidates])
    fresh = []
    for index, report in candidates:
        if _key(report) in used:
            outcome.refused[index] = f"(boot {report.boot}, seq {report.seq}) was used by an event"
        else:
            fresh.append(report)
    stored = _store_fixes(uow, fresh, outcome)
    latches = uow.locks.latch_records({report.lock_id for report in stored})
    applied = [report for report in stored if report.lock_id in latches]
    _apply_to_locks(uow, applied, latches, low_battery_pct)
    _end_rides(uow, applied, wallet_floor_minor)
    outcome.applied.extend(applied)


def _key(report: TelemetryReported) -> ReportKey:
    return report.lock_id, report.boot, report.seq


def _first_copies(
    reports: Sequence[tuple[int, TelemetryReported]],
    known: set[str],
    outcome: TelemetryIngested,
) -> list[tuple[int, TelemetryReported]]:
    """Each report of a known lock once, with its position in the batch."""
    seen: set[ReportKey] = set()
    kept = []
    for index, report in reports:
        key = _key(report)
        if report.lock_id not in known:
            outcome.unknown_locks += 1
        elif key in seen:
            outcome.repeats += 1
        else:
            seen.add(key)
            kept.append((index, report))
    return kept


def _store_fixes(
    uow: UnitOfWork, reports: list[TelemetryReported], outcome: TelemetryIngested
) -> list[TelemetryReported]:
    """Store the fixes; returns the reports to apply: those whose fix is new, and those
    without a position (nothing to deduplicate by: the rest of them is idempotent)."""
    fixes = [
        LockFix(
            report.lock_id,
            report.boot,
            report.seq,
            report_time(report.lock_time, report.received_at),
            report.lon,
            report.lat,
            report.locked,
            report.battery_pct,
            report.accuracy_m,
            report.lock_time is not None and report.lock_time <= report.received_at,
        )
        for report in reports
        if report.lon is not None and report.lat is not None
    ]
    stored = uow.lock_log.record_fixes(fixes) if fixes else set()
    applied = []
    for report in reports:
        if report.lon is None or report.lat is None or _key(report) in stored:
            applied.append(report)
        else:
            outcome.repeats += 1
    return applied


def _apply_to_locks(
    uow: UnitOfWork,
    reports: list[TelemetryReported],
    latches: dict[str, LatchRecord],
    low_battery_pct: int,
) -> None:
    """Each lock's row follows its newest report; battery crossings go to its history."""
    by_lock: dict[str, list[TelemetryReported]] = defaultdict(list)
    for report in reports:
        record_problems(uow, "telemetry", report)
        by_lock[report.lock_id].append(report)
    changes = []
    for lock_id, reported in by_lock.items():
        reported.sort(key=lambda report: (report.boot, report.seq))
        changes.append(_lock_change(uow, lock_id, reported, latches[lock_id], low_battery_pct))
    uow.locks.record_telemetry(changes)


def _lock_change(
    uow: UnitOfWork,
    lock_id: str,
    reports: list[TelemetryReported],
    record: LatchRecord,
    low_battery_pct: int,
) -> LockTelemetry:
    """What one lock's reports, in its own order, change on its row."""
    newest, battery = record.latch, record.battery_pct
    latch: LatchReport | None = None
    battery_now: int | None = None
    position: tuple[float, float] | None = None
    heard_at = max(report_time(report.lock_time, report.received_at) for report in reports)
    seen_at = max(report.received_at for report in reports)
    for report in reports:
        at = report_time(report.lock_time, report.received_at)
        if newest is not None and (report.boot, report.seq) <= newest:
            continue  # older than what the row shows already
        newest = (report.boot, report.seq)
        latch = LatchReport(report.locked, report.boot, report.seq, at)
        if report.battery_pct is not None:
            change = battery_change(battery, report.battery_pct, low_battery_pct)
            if change is not None:
                uow.vehicle_history.record(change, at, lock_id=lock_id)
            battery = battery_now = report.battery_pct
        if report.lon is not None and report.lat is not None:
            position = (report.lon, report.lat)
    return LockTelemetry(lock_id, seen_at, heard_at, latch, battery_now, position)


def _end_rides(uow: UnitOfWork, reports: list[TelemetryReported], wallet_floor_minor: int) -> None:
    """A lock reporting itself locked ends its open trip, if the report comes after the
    trip's unlock, at the time the latch closed (`latch_ts`) when the lock sends it."""
    closed = [report for report in reports if report.locked]
    if not closed:
        return
    riding = uow.rentals.locks_with_open_trip({report.lock_id for report in closed})
    for report in sorted(closed, key=lambda report: (report.boot, report.seq)):
        if report.lock_id not in riding:
            continue
        rental = uow.rentals.open_for_lock(report.lock_id)
        at = report_time(report.lock_time, report.received_at)
        closed_at = report_time(report.latch_time, at)
        if not closes_ride(rental, report.boot, report.seq, closed_at):
            continue
        assert rental is not None
        reported = None
        if report.lon is not None and report.lat is not None:
            reported = Fix(closed_at, report.lon, report.lat, report.accuracy_m)
        end_trip(uow, rental, closed_at, reported, wallet_floor_minor)
