"""Riders' idempotency keys are forgotten after their retention, oldest first, in batches,
on PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from rental.adapters.tables import idempotency_keys
from rental.domain.idempotency import KeyUse, Operation
from rental.services import retention
from tests.helpers import make_user


def claim(platform, rider_id, key: str, at: datetime) -> None:
    with platform.uow() as uow:
        assert uow.idempotency_keys.claim(rider_id, key, KeyUse(Operation.SCAN, "BK1")) is None
        uow.connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.rider_id == rider_id, idempotency_keys.c.key == key)
            .values(created_at=at)
        )
        uow.commit()


def keys_of(platform, rider_id) -> set[str]:
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.rider_id == rider_id)
        )
        return {key for (key,) in rows}


def test_keys_older_than_the_retention_go_in_batches_and_newer_ones_stay(platform):
    rider = make_user(platform)
    now = datetime.now(UTC)
    old = [f"old-{n}-{uuid.uuid4().hex[:8]}" for n in range(5)]
    for number, key in enumerate(old):
        claim(platform, rider.id, key, now - timedelta(days=8, minutes=number))
    claim(platform, rider.id, "recent", now - timedelta(days=6))
    with platform.uow() as uow:  # the oldest first, no more than a batch
        assert uow.idempotency_keys.forget_before(now - timedelta(days=7), 2) == 2
        uow.commit()
    assert keys_of(platform, rider.id) == {*old[:3], "recent"}  # old[4] was the oldest
    assert retention.forget_old_idempotency_keys(platform.uow(), now, timedelta(days=7)) >= 3
    assert keys_of(platform, rider.id) == {"recent"}


def test_the_sweepers_deletion_reads_the_index_by_age(platform):
    """Retention on a city's year of keys must not read them all: the adapter's own delete
    finds the oldest by the index on `created_at` (its plan, with sequential scans priced
    out, names the index; without one that fits, it would scan the table anyway)."""
    sent: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, *_args) -> None:
        if statement.lstrip().startswith("DELETE FROM idempotency_keys"):
            sent.append((statement, parameters))

    event.listen(platform.engine, "before_cursor_execute", keep)
    try:
        with platform.uow() as uow:
            uow.idempotency_keys.forget_before(datetime.now(UTC) - timedelta(days=365), 10)
    finally:
        event.remove(platform.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = sent
    with platform.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    assert any("idempotency_keys_by_age" in line for line in plan), plan
