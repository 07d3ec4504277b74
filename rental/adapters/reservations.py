"""Reservations of vehicles in PostgreSQL; partial unique indexes keep one per rider and asset."""

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, or_, select, update

from rental.adapters.repositories import conflicts_as_errors
from rental.adapters.tables import HELD_RESERVATION, reservations
from rental.domain.pricing import Tariff
from rental.domain.reservations import Reservation, ReservationState

HELD = HELD_RESERVATION


class ReservationRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, reservation: Reservation) -> None:
        with conflicts_as_errors():
            self._c.execute(insert(reservations).values(**_values(reservation)))

    def save(self, reservation: Reservation) -> None:
        self._c.execute(
            update(reservations)
            .where(reservations.c.id == reservation.id)
            .values(**_values(reservation))
        )

    def get(self, reservation_id: UUID, *, for_update: bool = False) -> Reservation | None:
        query = select(reservations).where(reservations.c.id == reservation_id)
        return self._one(query.with_for_update() if for_update else query)

    def by_idempotency_key(self, rider_id: UUID, key: str) -> Reservation | None:
        return self._one(
            select(reservations).where(
                reservations.c.rider_id == rider_id, reservations.c.idempotency_key == key
            )
        )

    def held_by_rider(self, rider_id: UUID) -> Reservation | None:
        return self._one(
            select(reservations).where(reservations.c.rider_id == rider_id, HELD).with_for_update()
        )

    def expired_before(self, moment: datetime, limit: int = 500) -> list[Reservation]:
        rows = self._c.execute(
            select(reservations)
            .where(HELD, reservations.c.expires_at <= moment)
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).mappings()
        return [_reservation(row) for row in rows]

    def of_rider_on_asset(
        self, rider_id: UUID, asset_id: UUID, since: datetime
    ) -> list[Reservation]:
        rows = self._c.execute(
            select(reservations).where(
                reservations.c.rider_id == rider_id,
                reservations.c.asset_id == asset_id,
                or_(HELD, reservations.c.ended_at >= since),
            )
        ).mappings()
        return [_reservation(row) for row in rows]

    def cancelled_by_rider_since(self, rider_id: UUID, since: datetime) -> list[datetime]:
        rows = self._c.execute(
            select(reservations.c.ended_at).where(
                reservations.c.rider_id == rider_id,
                reservations.c.ended_at >= since,
                reservations.c.state == ReservationState.CANCELLED.value,
                reservations.c.rental_id.is_(None),
            )
        )
        return [row.ended_at for row in rows]

    def _one(self, query: Any) -> Reservation | None:
        row = self._c.execute(query).mappings().first()
        return _reservation(row) if row else None


def _values(reservation: Reservation) -> dict[str, Any]:
    values = asdict(reservation)
    values["tariff"] = asdict(reservation.tariff)
    values["state"] = reservation.state.value
    return values


def _reservation(row: RowMapping) -> Reservation:
    return Reservation(
        id=row["id"],
        rider_id=row["rider_id"],
        asset_id=row["asset_id"],
        idempotency_key=row["idempotency_key"],
        tariff=Tariff(**row["tariff"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        state=ReservationState(row["state"]),
        ended_at=row["ended_at"],
        fee_minor=row["fee_minor"],
        rental_id=row["rental_id"],
    )
