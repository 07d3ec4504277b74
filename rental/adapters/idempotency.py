"""Idempotency keys in PostgreSQL: one row per rider and key."""

from uuid import UUID

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import idempotency_keys
from rental.domain.idempotency import KeyUse, Operation

# Claimed by every scan and hold: built once, so SQLAlchemy reuses its compiled form. Its
# parameters are the row's columns.
_CLAIM = insert(idempotency_keys).on_conflict_do_nothing().returning(idempotency_keys.c.key)


class IdempotencyKeys:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def claim(self, rider_id: UUID, key: str, use: KeyUse) -> KeyUse | None:
        # ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to end, so
        # the second of two racing retries reads the first's row once it is committed.
        claim = {
            "rider_id": rider_id,
            "key": key,
            "operation": use.operation.value,
            "request": use.request,
        }
        inserted = self._c.execute(_CLAIM, claim).first()
        if inserted is not None:
            return None
        row = self._c.execute(
            select(idempotency_keys.c.operation, idempotency_keys.c.request).where(
                idempotency_keys.c.rider_id == rider_id, idempotency_keys.c.key == key
            )
        ).one()
        return KeyUse(Operation(row.operation), row.request)
