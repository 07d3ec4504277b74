"""Disputes in PostgreSQL."""

import uuid
from dataclasses import asdict

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from rental.adapters.repositories import conflicts_as_errors
from rental.adapters.tables import disputes, rentals
from rental.domain.disputes import Dispute, DisputeState


class DisputeRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, dispute: Dispute) -> None:
        values = {**asdict(dispute), "state": dispute.state.value}
        values.pop("created_at")
        with conflicts_as_errors():
            self._c.execute(insert(disputes).values(**values))

    def get(self, dispute_id: uuid.UUID, *, for_update: bool = False) -> Dispute | None:
        query = select(disputes).where(disputes.c.id == dispute_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return _dispute(row) if row else None

    def save(self, dispute: Dispute) -> None:
        self._c.execute(
            update(disputes)
            .where(disputes.c.id == dispute.id)
            .values(
                state=dispute.state.value,
                refund_minor=dispute.refund_minor,
                note=dispute.note,
                resolved_at=dispute.resolved_at,
            )
        )

    def in_state(self, state: DisputeState, limit: int = 100) -> list[Dispute]:
        rows = self._c.execute(
            select(disputes)
            .where(disputes.c.state == state.value)
            .order_by(disputes.c.created_at)
            .limit(limit)
        ).mappings()
        return [_dispute(row) for row in rows]

    def for_rental(self, rental_id: uuid.UUID) -> list[Dispute]:
        rows = self._c.execute(
            select(disputes)
            .where(disputes.c.rental_id == rental_id)
            .order_by(disputes.c.created_at)
        ).mappings()
        return [_dispute(row) for row in rows]

    def refunded_for_rental(self, rental_id: uuid.UUID) -> int:
        total = self._c.execute(
            select(func.coalesce(func.sum(disputes.c.refund_minor), 0)).where(
                disputes.c.rental_id == rental_id
            )
        ).scalar_one()
        return int(total)

    def of_rider(self, rider_id: uuid.UUID) -> list[Dispute]:
        rows = self._c.execute(
            select(disputes).where(disputes.c.rider_id == rider_id).order_by(disputes.c.created_at)
        ).mappings()
        return [_dispute(row) for row in rows]

    def refunds_to_rider(self, rider_id: uuid.UUID) -> dict[str, int]:
        # A refund is in the currency of the fare it gives back: the disputed rental's.
        currency = rentals.c.tariff["currency"].astext
        rows = self._c.execute(
            select(currency, func.sum(disputes.c.refund_minor))
            .select_from(disputes.join(rentals, rentals.c.id == disputes.c.rental_id))
            .where(disputes.c.rider_id == rider_id, disputes.c.refund_minor > 0)
            .group_by(currency)
        )
        return {str(row[0]): int(row[1]) for row in rows}


def _dispute(row: RowMapping) -> Dispute:
    return Dispute(**{**dict(row), "state": DisputeState(row["state"])})
