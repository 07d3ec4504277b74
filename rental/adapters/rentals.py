"""Rentals in PostgreSQL, with their trace as a PostGIS LineString."""

from collections.abc import Collection
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from geoalchemy2.functions import ST_X, ST_Y
from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from rental.adapters.repositories import conflicts_as_errors, point
from rental.adapters.tables import (
    OPEN_RENTAL,
    assets,
    cities,
    lock_events,
    lock_positions,
    rentals,
)
from rental.domain.pricing import Tariff
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.zones import Parking
from rental.services.read_models import ShownRental

_rental_columns = [c for c in rentals.c if c.name not in ("trace", "end_position")]
_RENTAL_FIELDS = tuple(f.name for f in fields(Rental))

# The statements of every scan and every unlock, built once: SQLAlchemy then reuses their
# compiled form instead of building and hashing a new statement each time. The values of an
# insert or update are its parameters (one per column of `_rental_values`).
_INSERT = insert(rentals)
_SAVE = update(rentals).where(rentals.c.id == bindparam("rental_id", type_=rentals.c.id.type))
_BY_ID = select(*_rental_columns).where(
    rentals.c.id == bindparam("rental_id", type_=rentals.c.id.type)
)
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_SHOWN = (
    select(*_rental_columns, cities.c.timezone.label("city_time_zone"))
    .outerjoin(assets, assets.c.id == rentals.c.asset_id)
    .outerjoin(cities, cities.c.id == assets.c.city_id)
    .where(rentals.c.id == bindparam("rental_id", type_=rentals.c.id.type))
)
_BY_UNLOCK_COMMAND = (
    select(*_rental_columns)
    .where(
        rentals.c.lock_id == bindparam("lock_id", type_=rentals.c.lock_id.type),
        rentals.c.unlock_command_id
        == bindparam("command_id", type_=rentals.c.unlock_command_id.type),
    )
    .with_for_update()
)


class RentalRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, rental: Rental) -> None:
        with conflicts_as_errors():
            self._c.execute(_INSERT, _rental_values(rental))

    def save(self, rental: Rental) -> None:
        values = _rental_values(rental)
        values["rental_id"] = values.pop("id")
        self._c.execute(_SAVE, values)

    def shown(self, rental_id: UUID) -> ShownRental | None:
        """The rental with its city's time zone, in one read."""
        row = self._c.execute(_SHOWN, {"rental_id": rental_id}).mappings().first()
        return ShownRental(_rental(row), row["city_time_zone"]) if row else None

    def get(self, rental_id: UUID, *, for_update: bool = False) -> Rental | None:
        query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        row = self._c.execute(query, {"rental_id": rental_id}).mappings().first()
        return _rental(row) if row else None

    def by_idempotency_key(self, rider_id: UUID, key: str) -> Rental | None:
        return self._one(
            select(*_rental_columns).where(
                rentals.c.rider_id == rider_id, rentals.c.idempotency_key == key
            ),
            False,
        )

    def open_for_lock(self, lock_id: str) -> Rental | None:
        """The open trip of a vehicle's lock. A cabinet's rentals are not trips: its latch
        state says nothing about the items out, so they are never found here."""
        return self._one(
            select(*_rental_columns).where(
                rentals.c.lock_id == lock_id, rentals.c.slot.is_(None), OPEN_RENTAL
            ),
            True,
        )

    def locks_with_open_trip(self, lock_ids: Collection[str]) -> set[str]:
        if not lock_ids:
            return set()
        found = self._c.exec_driver_sql(
            "SELECT lock_id FROM rentals WHERE lock_id = ANY(CAST(%(ids)b AS text[]))"
            f" AND slot IS NULL AND {OPEN_RENTAL.text}",
            {"ids": list(lock_ids)},
        )
        return set(found.scalars())

    def by_unlock_command(self, lock_id: str, cmd_id: str) -> Rental | None:
        """The rental a lock's answer belongs to, in whatever state (a cabinet has several
        at once; a late answer finds its rental failed)."""
        try:
            command = UUID(cmd_id)
        except ValueError:
            return None
        parameters = {"lock_id": lock_id, "command_id": command}
        row = self._c.execute(_BY_UNLOCK_COMMAND, parameters).mappings().first()
        return _rental(row) if row else None

    def riding_with_close_reported(self) -> list[Rental]:
        """Active rides of vehicle locks that already reported a close after their unlock
        (their close was processed before the unlock, or its ending failed): to repair."""
        after_unlock = tuple_(lock_events.c.boot, lock_events.c.seq) > tuple_(
            rentals.c.unlock_boot, rentals.c.unlock_seq
        )
        closed_event = select(lock_events.c.seq).where(
            lock_events.c.lock_id == rentals.c.lock_id,
            lock_events.c.type == "locked",
            after_unlock,
            lock_events.c.lock_time >= rentals.c.started_at,
        )
        fix_after = tuple_(lock_positions.c.boot, lock_positions.c.seq) > tuple_(
            rentals.c.unlock_boot, rentals.c.unlock_seq
        )
        closed_fix = select(lock_positions.c.seq).where(
            lock_positions.c.lock_id == rentals.c.lock_id,
            lock_positions.c.locked,
            fix_after,
            lock_positions.c.recorded_at >= rentals.c.started_at,
        )
        query = (
            select(*_rental_columns)
            .where(rentals.c.state == RentalState.ACTIVE.value, rentals.c.slot.is_(None))
            .where(rentals.c.unlock_boot.isnot(None))
            .where(closed_event.exists() | closed_fix.exists())
            .with_for_update(skip_locked=True)
        )
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def open_for_asset(self, asset_id: UUID) -> Rental | None:
        return self._one(
            select(*_rental_columns).where(rentals.c.asset_id == asset_id, OPEN_RENTAL), True
        )

    def of_rider_on_asset(self, rider_id: UUID, asset_id: UUID, since: datetime) -> list[Rental]:
        query = select(*_rental_columns).where(
            rentals.c.rider_id == rider_id,
            rentals.c.asset_id == asset_id,
            or_(OPEN_RENTAL, rentals.c.requested_at >= since, rentals.c.ended_at >= since),
        )
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def active_with_replacement_price(self, limit: int = 500) -> list[Rental]:
        """Item rentals that can run into their replacement price."""
        query = (
            select(*_rental_columns)
            .where(rentals.c.state == RentalState.ACTIVE.value)
            .where(rentals.c.tariff["replacement_price_minor"].as_integer().isnot(None))
            .order_by(rentals.c.started_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def for_rider(self, rider_id: UUID, limit: int, before: datetime | None) -> list[Rental]:
        query = select(*_rental_columns).where(rentals.c.rider_id == rider_id)
        if before is not None:
            query = query.where(rentals.c.requested_at < before)
        query = query.order_by(rentals.c.requested_at.desc()).limit(limit)
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def of_rider_since(self, rider_id: UUID, since: datetime) -> list[Rental]:
        query = select(*_rental_columns).where(
            rentals.c.rider_id == rider_id, rentals.c.requested_at >= since
        )
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def has_open(self, rider_id: UUID) -> bool:
        query = select(rentals.c.id).where(rentals.c.rider_id == rider_id, OPEN_RENTAL)
        return self._c.execute(query).first() is not None

    def unlocking_expired_before(self, moment: datetime) -> list[Rental]:
        query = (
            select(*_rental_columns)
            .where(rentals.c.state == RentalState.UNLOCKING.value)
            .where(rentals.c.unlock_expires_at < moment)
            .with_for_update(skip_locked=True)
        )
        return [_rental(row) for row in self._c.execute(query).mappings()]

    def set_trace(self, rental_id: UUID, wkt: str) -> float:
        """Store the path and return its length in metres on the WGS 84 spheroid."""
        geometry = func.ST_GeomFromText(wkt, 4326)
        distance = self._c.execute(
            update(rentals)
            .where(rentals.c.id == rental_id)
            .values(trace=geometry, distance_m=func.ST_Length(func.Geography(geometry)))
            .returning(rentals.c.distance_m)
        ).scalar_one()
        return float(distance)

    def set_end_position(self, rental_id: UUID, lon: float, lat: float) -> None:
        self._c.execute(
            update(rentals).where(rentals.c.id == rental_id).values(end_position=point(lon, lat))
        )

    def end_position(self, rental_id: UUID) -> tuple[float, float] | None:
        row = self._c.execute(
            select(ST_X(rentals.c.end_position), ST_Y(rentals.c.end_position)).where(
                rentals.c.id == rental_id
            )
        ).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        return float(row[0]), float(row[1])

    def trace_geojson(self, rental_id: UUID, tolerance_degrees: float = 0.0) -> str | None:
        """The stored path, simplified for display (the ends are always kept)."""
        return self._c.execute(
            select(
                func.ST_AsGeoJSON(func.ST_Simplify(rentals.c.trace, tolerance_degrees), 6)
            ).where(rentals.c.id == rental_id)
        ).scalar()

    def _one(self, query: Any, for_update: bool) -> Rental | None:
        if for_update:
            query = query.with_for_update()
        row = self._c.execute(query).mappings().first()
        return _rental(row) if row else None


def _rental_values(rental: Rental) -> dict[str, Any]:
    # Field by field rather than `asdict`, which deep-copies every value on each save.
    values = {name: getattr(rental, name) for name in _RENTAL_FIELDS}
    values["tariff"] = asdict(rental.tariff)
    values["state"] = rental.state.value
    values["failure_reason"] = rental.failure_reason.value if rental.failure_reason else None
    values["parking"] = rental.parking.value if rental.parking else None
    return values


def _rental(row: RowMapping) -> Rental:
    return Rental(
        id=row["id"],
        rider_id=row["rider_id"],
        asset_id=row["asset_id"],
        lock_id=row["lock_id"],
        tariff=Tariff(**row["tariff"]),
        state=RentalState(row["state"]),
        requested_at=row["requested_at"],
        idempotency_key=row["idempotency_key"],
        plan_id=row["plan_id"],
        unlock_command_id=row["unlock_command_id"],
        unlock_expires_at=row["unlock_expires_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        failure_reason=FailureReason(row["failure_reason"]) if row["failure_reason"] else None,
        fare_minor=row["fare_minor"],
        distance_m=row["distance_m"],
        parking=Parking(row["parking"]) if row["parking"] else None,
        parking_message=row["parking_message"],
        out_of_zone_fee_minor=row["out_of_zone_fee_minor"],
        position_doubt=row["position_doubt"],
        slot=row["slot"],
        unreturned=row["unreturned"],
        unlock_boot=row["unlock_boot"],
        unlock_seq=row["unlock_seq"],
        late_unlock=row["late_unlock"],
        notice=row["notice"],
    )
