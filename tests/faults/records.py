"""The database as the fault tests read it: through outages (a read waits for PostgreSQL
to come back), straight from the tables, so no rule of the platform hides what it stored."""

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from rental.adapters.tables import assets, lock_events, lock_positions, locks, rentals

T = TypeVar("T")


class Records:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read(self, query: Callable[[Any], T], timeout: float = 60) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.engine.connect() as connection:
                    return query(connection)
            except DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def rental(self, rental_id: str) -> dict[str, Any]:
        row = self.read(
            lambda c: c.execute(select(rentals).where(rentals.c.id == rental_id)).mappings().one()
        )
        return dict(row)

    def wait_rental(
        self, rental_id: str, states: str | Iterable[str], timeout: float = 30
    ) -> dict[str, Any]:
        wanted = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            row = self.rental(rental_id)
            if row["state"] in wanted:
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"rental {rental_id} is {row['state']}, not {wanted}")
            time.sleep(0.1)

    def lock_row(self, lock_id: str) -> dict[str, Any]:
        return dict(
            self.read(
                lambda c: c.execute(select(locks).where(locks.c.id == lock_id)).mappings().one()
            )
        )

    def stored_event(self, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        """The event (lock, boot, seq) as lockctl stored it, if it did."""
        return self._row(lock_events, lock_id, boot, seq)

    def stored_fix(self, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        return self._row(lock_positions, lock_id, boot, seq)

    def _row(self, table: Any, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        if not 0 <= seq < 2**63:
            return None  # beyond a bigint: never stored
        query = select(table).where(
            table.c.lock_id == lock_id, table.c.boot == boot, table.c.seq == seq
        )
        row = self.read(lambda c: c.execute(query).mappings().first())
        return None if row is None else dict(row)

    def table_exists(self, name: str) -> bool:
        return bool(
            self.read(lambda c: c.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar())
        )

    def public_ids(self, city_id: str) -> dict[str, str]:
        rows = self.read(
            lambda c: c.execute(
                select(assets.c.public_id, assets.c.code).where(assets.c.city_id == city_id)
            ).all()
        )
        return {public_id: code for public_id, code in rows}


def eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
