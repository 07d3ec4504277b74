"""What locks reported: events (each counted once) and GPS fixes."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from sqlalchemy import Connection, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from rental.adapters.repositories import point
from rental.adapters.tables import lock_events, lock_positions
from rental.domain.errors import NotFound
from rental.domain.trace import Fix


@contextmanager
def _unknown_lock_as_not_found(lock_id: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise NotFound(f"no lock {lock_id}", "lock_not_found") from exc


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
        with _unknown_lock_as_not_found(lock_id):
            inserted = self._c.execute(
                insert(lock_events)
                .values(
                    lock_id=lock_id,
                    boot=boot,
                    seq=seq,
                    type=event_type,
                    cmd_id=cmd_id,
                    payload=payload,
                    lock_time=lock_time,
                )
                .on_conflict_do_nothing(constraint="lock_events_pkey")
                .returning(lock_events.c.seq)
            ).first()
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
