"""What locks reported: events (each counted once) and GPS fixes."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from sqlalchemy import Connection, and_, bindparam, delete, literal, select, tuple_, union_all
from sqlalchemy import insert as plain_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from rental.adapters.repositories import point
from rental.adapters.tables import lock_events, lock_positions, lock_report_problems
from rental.domain.errors import NotFound
from rental.domain.trace import Fix
from rental.services.read_models import LockReportProblem


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

    def record_fix(
        self,
        lock_id: str,
        boot: int,
        seq: int,
        recorded_at: datetime,
        lon: float,
        lat: float,
        locked: bool,
        battery_pct: int | None,
        accuracy_m: float | None,
    ) -> bool:
        """True for a new fix, False for a repeat; NotFound for an unknown lock."""
        with _unknown_lock_as_not_found(lock_id):
            inserted = self._c.execute(
                insert(lock_positions)
                .values(
                    lock_id=lock_id,
                    boot=boot,
                    seq=seq,
                    recorded_at=recorded_at,
                    position=point(lon, lat),
                    locked=locked,
                    battery_pct=battery_pct,
                    accuracy_m=accuracy_m,
                )
                .on_conflict_do_nothing(constraint="lock_positions_pkey")
                .returning(lock_positions.c.seq)
            ).first()
        return inserted is not None

    def fix_exists(self, lock_id: str, boot: int, seq: int) -> bool:
        """Whether telemetry already used this (boot, seq): one counter serves both channels."""
        return self._exists(lock_positions, lock_id, boot, seq)

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

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` fixes and events older than `cutoff`; how many went."""
        deleted = 0
        for table, moment in (
            (lock_positions, lock_positions.c.recorded_at),
            (lock_events, lock_events.c.received_at),
        ):
            oldest = select(table.c.lock_id, table.c.boot, table.c.seq).where(moment < cutoff)
            doomed = oldest.limit(batch).subquery()
            result = self._c.execute(
                delete(table).where(
                    tuple_(table.c.lock_id, table.c.boot, table.c.seq).in_(select(doomed))
                )
            )
            deleted += result.rowcount
        return deleted
