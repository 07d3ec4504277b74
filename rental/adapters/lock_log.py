"""What locks reported: events (each counted once) and GPS fixes (stored in batches)."""

import functools
import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    column,
    delete,
    literal,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy import insert as plain_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from rental.adapters.repositories import AdvisoryLock
from rental.adapters.tables import lock_events, lock_positions, lock_report_problems
from rental.domain.errors import NotFound
from rental.domain.trace import Fix
from rental.services.read_models import LockReportProblem
from rental.services.repositories.rides import LockFix, ReportKey

log = logging.getLogger(__name__)

# A fix reusing an event's (boot, seq) is looked for this far around the event: the
# two share one counter, so a lock's reused pair is one of its recent reports.
NEAR = timedelta(days=1)

# Fixes arrive by the thousand a second: one statement stores a whole batch, its columns
# passed as arrays, in binary (`%(name)b`: psycopg writes a text array in Python, several
# times slower). A repeat of a stored fix is left out, and so only the new fixes are
# returned: by the primary key (lock_id, boot, seq, recorded_at) when the fix is dated by
# the lock's clock, as its repeat is; by looking a day around when it is dated by its
# arrival, which a repeat's differs from.
_STORE_FIXES = """
    INSERT INTO lock_positions
        (lock_id, boot, seq, recorded_at, position, battery_pct, accuracy_m, locked)
    SELECT f.lock_id, f.boot, f.seq, f.recorded_at,
           ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326), f.battery_pct, f.accuracy_m, f.locked
    FROM unnest(
        CAST(%(lock_ids)b AS text[]), CAST(%(boots)b AS bigint[]),
        CAST(%(seqs)b AS bigint[]), CAST(%(recorded)b AS timestamptz[]),
        CAST(%(lons)b AS float8[]), CAST(%(lats)b AS float8[]),
        CAST(%(batteries)b AS integer[]), CAST(%(accuracies)b AS float8[]),
        CAST(%(locked)b AS boolean[]), CAST(%(by_lock)b AS boolean[])
    ) AS f(lock_id, boot, seq, recorded_at, lon, lat, battery_pct, accuracy_m, locked, by_lock)
    WHERE f.by_lock OR NOT EXISTS (
        SELECT 1 FROM lock_positions p
        WHERE p.lock_id = f.lock_id AND p.boot = f.boot AND p.seq = f.seq
          AND p.recorded_at BETWEEN f.recorded_at - interval '1 day'
                                AND f.recorded_at + interval '1 day'
    )
    ORDER BY f.lock_id, f.boot, f.seq, f.recorded_at
    ON CONFLICT DO NOTHING
    RETURNING lock_id, boot, seq
    """
# A fix dated by its arrival has no key of its own (its time is when it arrived), so the
# check above for its earlier copy would miss one being stored by a concurrent batch: the
# batches storing such fixes of a lock take turns. They hold these locks only, in one
# order, before any fix is stored; lock events never take them.
_TAKE_TURNS = """
    SELECT pg_advisory_xact_lock(%(kind)s, hashtext(l.id))
    FROM unnest(CAST(%(lock_ids)b AS text[])) AS l(id) ORDER BY l.id
    """

# Partitions: one per UTC day, and the DEFAULT one for fixes dated outside them.
PARTITION_PREFIX = "lock_positions_p"
DEFAULT_PARTITION = "lock_positions_default"
# The DEFAULT partition's own rows: only they are deleted row by row.
_STRAY_FIXES = table(
    DEFAULT_PARTITION, column("lock_id"), column("boot"), column("seq"), column("recorded_at")
)
# Partition changes wait for the batches writing (they lock the table): never for long.
PARTITION_LOCK_TIMEOUT = "2s"

_EVENTS_AMONG = """
    SELECT k.lock_id, k.boot, k.seq
    FROM unnest(
        CAST(%(lock_ids)b AS text[]), CAST(%(boots)b AS bigint[]), CAST(%(seqs)b AS bigint[])
    ) AS k(lock_id, boot, seq)
    WHERE EXISTS (
        SELECT 1 FROM lock_events e
        WHERE e.lock_id = k.lock_id AND e.boot = k.boot AND e.seq = k.seq
    )
    """


@contextmanager
def _unknown_lock_as_not_found(lock_id: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise NotFound(f"no lock {lock_id}", "lock_not_found") from exc


# The statements of every lock event, built once: SQLAlchemy then reuses their compiled
# form instead of building and hashing a new statement for each report. Parameters are named
# after the columns they fill or match.
_RECORD_EVENT = (
    insert(lock_events)
    .on_conflict_do_nothing(constraint="lock_events_pkey")
    .returning(lock_events.c.seq)
)


def _report_key(table: Any) -> Any:
    """This (lock_id, boot, seq) of `table`, as parameters."""
    return and_(
        table.c.lock_id == bindparam("lock_id", type_=table.c.lock_id.type),
        table.c.boot == bindparam("boot", type_=table.c.boot.type),
        table.c.seq == bindparam("seq", type_=table.c.seq.type),
    )


@functools.cache
def _report_exists(table: Any) -> Any:
    return select(literal(1)).where(_report_key(table))


def _first_close_after() -> Any:
    """Parameters: `lock_id`, the unlock's `boot` and `seq`, and `since`."""
    lock_id = bindparam("lock_id", type_=lock_events.c.lock_id.type)
    boot = bindparam("boot", type_=lock_events.c.boot.type)
    seq = bindparam("seq", type_=lock_events.c.seq.type)
    since = bindparam("since", type_=lock_events.c.lock_time.type)
    events = select(
        lock_events.c.boot,
        lock_events.c.seq,
        lock_events.c.lock_time.label("at"),
        lock_events.c.payload["lon"].as_float().label("lon"),
        lock_events.c.payload["lat"].as_float().label("lat"),
        literal(None).label("accuracy_m"),
    ).where(
        lock_events.c.lock_id == lock_id,
        lock_events.c.type == "locked",
        tuple_(lock_events.c.boot, lock_events.c.seq) > tuple_(boot, seq),
        lock_events.c.lock_time >= since,
    )
    fixes = select(
        lock_positions.c.boot,
        lock_positions.c.seq,
        lock_positions.c.recorded_at.label("at"),
        ST_X(lock_positions.c.position).label("lon"),
        ST_Y(lock_positions.c.position).label("lat"),
        lock_positions.c.accuracy_m,
    ).where(
        lock_positions.c.lock_id == lock_id,
        lock_positions.c.locked,
        tuple_(lock_positions.c.boot, lock_positions.c.seq) > tuple_(boot, seq),
        lock_positions.c.recorded_at >= since,
    )
    both = union_all(events, fixes).subquery()
    return (
        select(both.c.at, both.c.lon, both.c.lat, both.c.accuracy_m)
        .order_by(both.c.boot, both.c.seq)
        .limit(1)
    )


_FIRST_CLOSE_AFTER = _first_close_after()

# Parameters: `lock_id`, `boot`, `seq`, and the times `earliest` and `latest` bounding
# `recorded_at` (the partitions to look in).
_FIX_NEAR = select(literal(1)).where(
    _report_key(lock_positions),
    lock_positions.c.recorded_at.between(
        bindparam("earliest", type_=lock_positions.c.recorded_at.type),
        bindparam("latest", type_=lock_positions.c.recorded_at.type),
    ),
)


class LockLog:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def record_event(
        self,
        lock_id: str,
        boot: int,
        seq: int,
        event_type: str,
        cmd_id: str | None,
        payload: dict[str, Any],
        lock_time: datetime,
    ) -> bool:
        """True the first time this (lock, boot, seq) is seen, False for a redelivery.

        Raises NotFound for a lock the platform does not know.
        """
        event = {
            "lock_id": lock_id,
            "boot": boot,
            "seq": seq,
            "type": event_type,
            "cmd_id": cmd_id,
            "payload": payload,
            "lock_time": lock_time,
        }
        with _unknown_lock_as_not_found(lock_id):
            inserted = self._c.execute(_RECORD_EVENT, event).first()
        return inserted is not None

    def record_fixes(self, fixes: Sequence[LockFix]) -> set[ReportKey]:
        """Store fixes in one statement (after one taking turns, for fixes dated by their
        arrival); returns the keys stored now (not repeats)."""
        if not fixes:
            return set()
        columns = {
            "lock_ids": [fix.lock_id for fix in fixes],
            "boots": [fix.boot for fix in fixes],
            "seqs": [fix.seq for fix in fixes],
            "recorded": [fix.recorded_at for fix in fixes],
            "lons": [fix.lon for fix in fixes],
            "lats": [fix.lat for fix in fixes],
            "batteries": [fix.battery_pct for fix in fixes],
            "accuracies": [fix.accuracy_m for fix in fixes],
            "locked": [fix.locked for fix in fixes],
            "by_lock": [fix.dated_by_lock for fix in fixes],
        }
        arrival_dated = sorted({fix.lock_id for fix in fixes if not fix.dated_by_lock})
        if arrival_dated:
            self._c.exec_driver_sql(
                _TAKE_TURNS,
                {"kind": int(AdvisoryLock.ARRIVAL_DATED_FIXES), "lock_ids": arrival_dated},
            )
        stored = self._c.exec_driver_sql(_STORE_FIXES, columns)
        return {(lock_id, boot, seq) for lock_id, boot, seq in stored}

    def events_among(self, keys: Collection[ReportKey]) -> set[ReportKey]:
        if not keys:
            return set()
        lock_ids, boots, seqs = zip(*keys, strict=True)
        found = self._c.exec_driver_sql(
            _EVENTS_AMONG, {"lock_ids": list(lock_ids), "boots": list(boots), "seqs": list(seqs)}
        )
        return {(lock_id, boot, seq) for lock_id, boot, seq in found}

    def fix_exists(self, lock_id: str, boot: int, seq: int, near: datetime) -> bool:
        parameters = {
            "lock_id": lock_id,
            "boot": boot,
            "seq": seq,
            "earliest": near - NEAR,
            "latest": near + NEAR,
        }
        return self._c.execute(_FIX_NEAR, parameters).first() is not None

    def event_exists(self, lock_id: str, boot: int, seq: int) -> bool:
        return self._exists(lock_events, lock_id, boot, seq)

    def _exists(self, table: Any, lock_id: str, boot: int, seq: int) -> bool:
        parameters = {"lock_id": lock_id, "boot": boot, "seq": seq}
        return self._c.execute(_report_exists(table), parameters).first() is not None

    def return_since(self, item: str, since: datetime) -> tuple[str, int, datetime] | None:
        """Where and when `item` was first pushed into a cabinet slot at or after `since`
        (the lock's clock): (cabinet id, slot, time); None if it was not."""
        row = self._c.execute(
            select(
                lock_events.c.lock_id,
                lock_events.c.payload["slot"].as_integer(),
                lock_events.c.lock_time,
            )
            .where(lock_events.c.type == "returned")
            .where(lock_events.c.payload["item"].as_string() == item)
            .where(lock_events.c.lock_time >= since)
            .order_by(lock_events.c.lock_time)
            .limit(1)
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    def first_close_after(
        self, lock_id: str, boot: int, seq: int, since: datetime
    ) -> tuple[datetime, Fix | None] | None:
        """The lock's first report of a closed latch after (boot, seq) and not before
        `since` by its clock (a `locked` event, or telemetry saying `locked`): its time, and
        its position when it had one."""
        parameters = {"lock_id": lock_id, "boot": boot, "seq": seq, "since": since}
        row = self._c.execute(_FIRST_CLOSE_AFTER, parameters).first()
        if row is None:
            return None
        at, lon, lat, accuracy = row
        return at, (None if lon is None or lat is None else Fix(at, lon, lat, accuracy))

    def record_problems(
        self,
        lock_id: str,
        channel: str,
        boot: int,
        seq: int,
        dropped: dict[str, str],
        received_at: datetime,
    ) -> None:
        self._c.execute(
            plain_insert(lock_report_problems).values(
                lock_id=lock_id,
                channel=channel,
                boot=boot,
                seq=seq,
                dropped=dropped,
                received_at=received_at,
            )
        )

    def problems_of(self, lock_id: str, limit: int) -> list[LockReportProblem]:
        rows = self._c.execute(
            select(lock_report_problems)
            .where(lock_report_problems.c.lock_id == lock_id)
            .order_by(lock_report_problems.c.received_at.desc())
            .limit(limit)
        ).mappings()
        return [
            LockReportProblem(
                row["channel"],
                row["boot"],
                row["seq"],
                tuple(row["dropped"].items()),
                row["received_at"],
            )
            for row in rows
        ]

    def fixes_between(self, lock_id: str, start: datetime, end: datetime) -> list[Fix]:
        rows = self._c.execute(
            select(
                lock_positions.c.recorded_at,
                ST_X(lock_positions.c.position),
                ST_Y(lock_positions.c.position),
                lock_positions.c.accuracy_m,
            )
            .where(lock_positions.c.lock_id == lock_id)
            .where(lock_positions.c.recorded_at.between(start, end))
            .order_by(lock_positions.c.recorded_at)
        )
        return [Fix(*row) for row in rows]

    def prepare_fix_days(self, first: date, last: date) -> int:
        self._c.exec_driver_sql(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'")
        existing = set(self._day_partitions())
        made = 0
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1)):
            if day in existing:
                continue
            try:
                with self._c.begin_nested():  # a day whose fixes sit in the default stays so
                    self._c.exec_driver_sql(_create_day(day))
                made += 1
            except DBAPIError as error:
                log.warning("no partition for the fixes of %s: %s", day, error.orig)
        return made

    def forget_fix_days_before(self, cutoff: datetime) -> int:
        self._c.exec_driver_sql(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'")
        forgotten = 0
        for day, name in self._day_partitions().items():
            if datetime.combine(day + timedelta(days=1), time(), UTC) > cutoff:
                continue
            # The planner's estimate: counting a day of fixes would read them all.
            estimate = self._c.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = CAST(%(name)s AS regclass)",
                {"name": name},
            ).scalar_one()
            self._c.exec_driver_sql(f'DROP TABLE "{name}"')
            forgotten += max(int(estimate), 0)
        return forgotten

    def _day_partitions(self) -> dict[date, str]:
        names = self._c.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST('lock_positions' AS regclass)"
        ).scalars()
        return {
            datetime.strptime(name[len(PARTITION_PREFIX) :], "%Y%m%d").date(): name
            for name in names
            if name.startswith(PARTITION_PREFIX)
        }

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` events, and as many fixes kept outside their day's
        partition, older than `cutoff`; how many went."""
        deleted = 0
        for rows, moment in (
            (_STRAY_FIXES, _STRAY_FIXES.c.recorded_at),
            (lock_events, lock_events.c.received_at),
        ):
            oldest = select(rows.c.lock_id, rows.c.boot, rows.c.seq).where(moment < cutoff)
            doomed = oldest.limit(batch).subquery()
            result = self._c.execute(
                delete(rows).where(
                    tuple_(rows.c.lock_id, rows.c.boot, rows.c.seq).in_(select(doomed))
                )
            )
            deleted += result.rowcount
        return deleted


def _create_day(day: date) -> str:
    return (
        f"CREATE TABLE {PARTITION_PREFIX}{day:%Y%m%d} PARTITION OF lock_positions "
        f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
        f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
    )
