"""Vehicles' history as it is written (in the transaction of each change) and read by MDS."""

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Float,
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)

from rental.adapters.availability import live_reservation, open_damage_reports
from rental.adapters.tables import (
    assets,
    lock_positions,
    locks,
    mds_clients,
    rentals,
    vehicle_events,
)
from rental.domain.fleet import VEHICLE_KINDS, AssetKind
from rental.domain.mds import VehicleEvent
from rental.domain.zones import Parking
from rental.services.read_models import (
    LockFix,
    MdsClient,
    TelemetryRecord,
    TripRecord,
    VehicleEventRecord,
    VehicleRecord,
    VehicleStatusRecord,
)

VEHICLE_KIND_VALUES = [kind.value for kind in VEHICLE_KINDS]


@functools.cache
def _recording(by_asset: bool, placed: bool) -> Any:
    """The insert of `VehicleHistory.record`, built once per shape: parameters `event_id`,
    `kind`, `at`, `rental_id`, `vehicle` (the asset's id, or its lock's) and, when
    `placed`, `lon` and `lat`."""
    vehicle = assets.c.id if by_asset else assets.c.lock_id
    which = vehicle == bindparam("vehicle", type_=vehicle.type)
    where: Any = locks.c.position
    if placed:
        lon, lat = bindparam("lon", type_=Float), bindparam("lat", type_=Float)
        where = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    source = (
        select(
            bindparam("event_id", type_=Uuid),
            assets.c.id,
            assets.c.city_id,
            bindparam("kind", type_=String),
            bindparam("at", type_=DateTime(timezone=True)),
            where,
            locks.c.battery_pct,
            bindparam("rental_id", type_=Uuid),
        )
        .select_from(assets)
        .join(locks, locks.c.id == assets.c.lock_id, isouter=True)
        .where(which, assets.c.kind.in_(VEHICLE_KIND_VALUES))
        .where(where.isnot(None))
    )
    columns = ["id", "asset_id", "city_id", "kind", "at", "position", "battery_pct", "rental_id"]
    return insert(vehicle_events).from_select(columns, source)


def _active_rental() -> Any:
    return (
        select(rentals.c.id)
        .where(rentals.c.asset_id == assets.c.id, rentals.c.state == literal_column("'active'"))
        .limit(1)
        .scalar_subquery()
    )


def _event_columns(prefix: str = "") -> list[Any]:
    """An event as MDS reads it; `prefix` names the columns where they sit beside others."""
    return [
        vehicle_events.c.id.label(f"{prefix}id"),
        vehicle_events.c.asset_id.label(f"{prefix}asset_id"),
        vehicle_events.c.kind.label(f"{prefix}kind"),
        vehicle_events.c.at.label(f"{prefix}at"),
        vehicle_events.c.recorded_at.label(f"{prefix}recorded_at"),
        func.ST_X(vehicle_events.c.position).label(f"{prefix}lon"),
        func.ST_Y(vehicle_events.c.position).label(f"{prefix}lat"),
        vehicle_events.c.battery_pct.label(f"{prefix}battery_pct"),
        vehicle_events.c.rental_id.label(f"{prefix}rental_id"),
    ]


def _fix_columns(prefix: str = "") -> list[Any]:
    """A lock's fix as MDS telemetry reads it."""
    return [
        lock_positions.c.lock_id.label(f"{prefix}lock_id"),
        lock_positions.c.boot.label(f"{prefix}boot"),
        lock_positions.c.seq.label(f"{prefix}seq"),
        lock_positions.c.recorded_at.label(f"{prefix}recorded_at"),
        func.ST_X(lock_positions.c.position).label(f"{prefix}lon"),
        func.ST_Y(lock_positions.c.position).label(f"{prefix}lat"),
        lock_positions.c.accuracy_m.label(f"{prefix}accuracy_m"),
        lock_positions.c.battery_pct.label(f"{prefix}battery_pct"),
    ]


def _nested(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    """The columns of `prefix` as a record of their own; None when the join found none."""
    record = {key.removeprefix(prefix): row.pop(key) for key in list(row) if key.startswith(prefix)}
    return None if all(value is None for value in record.values()) else record


def _event(row: Any) -> VehicleEventRecord:
    return VehicleEventRecord(**{**row, "kind": VehicleEvent(row["kind"])})


class VehicleHistory:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def record(
        self,
        kind: VehicleEvent,
        at: datetime,
        *,
        asset_id: uuid.UUID | None = None,
        lock_id: str | None = None,
        rental_id: uuid.UUID | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> None:
        """Append what happened to a vehicle (named by its id or its lock's), where its lock
        last was unless told. Items are not vehicles and get no history; nor does a vehicle
        never located, since an MDS event needs a place."""
        parameters: dict[str, Any] = {
            "event_id": uuid.uuid4(),
            "kind": kind.value,
            "at": at,
            "rental_id": rental_id,
        }
        by_asset = asset_id is not None
        parameters["vehicle"] = asset_id if by_asset else lock_id
        placed = lon is not None and lat is not None
        if placed:
            parameters["lon"], parameters["lat"] = lon, lat
        self._c.execute(_recording(by_asset, placed), parameters)

    # --- read by MDS --------------------------------------------------------------------

    def vehicles(
        self, city_id: str, after: uuid.UUID | None, limit: int, device_id: uuid.UUID | None
    ) -> list[VehicleRecord]:
        query = select(assets.c.id, assets.c.code, assets.c.kind).where(
            assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES)
        )
        return [
            VehicleRecord(row["id"], row["code"], AssetKind(row["kind"]))
            for row in self._vehicle_page(query, after, limit, device_id)
        ]

    def statuses(
        self,
        city_id: str,
        after: uuid.UUID | None,
        limit: int,
        device_id: uuid.UUID | None,
        now: datetime,
    ) -> list[VehicleStatusRecord]:
        """Each vehicle with what is true now, its last logged event and its lock's last
        fix (each None when there is none)."""
        last_event = (
            select(*_event_columns("event__"))
            .where(vehicle_events.c.asset_id == assets.c.id)
            .order_by(vehicle_events.c.at.desc(), vehicle_events.c.recorded_at.desc())
            .limit(1)
            .lateral("last_event")
        )
        last_fix = (
            select(*_fix_columns("fix__"))
            .where(lock_positions.c.lock_id == assets.c.lock_id)
            .order_by(lock_positions.c.recorded_at.desc())
            .limit(1)
            .lateral("last_fix")
        )
        query = (
            select(
                assets.c.id,
                assets.c.lock_id,
                assets.c.in_service,
                locks.c.online,
                locks.c.last_seen_at,
                locks.c.battery_pct,
                func.ST_X(locks.c.position).label("lon"),
                func.ST_Y(locks.c.position).label("lat"),
                _active_rental().label("rental_id"),
                live_reservation(now).exists().label("reserved"),
                (open_damage_reports() > 0).label("damaged"),
                last_event,
                last_fix,
            )
            .select_from(assets)
            .join(locks, locks.c.id == assets.c.lock_id)
            .join(last_event, literal(True), isouter=True)
            .join(last_fix, literal(True), isouter=True)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(locks.c.position.isnot(None))
        )
        statuses = []
        for row in self._vehicle_page(query, after, limit, device_id):
            event, fix = _nested(row, "event__"), _nested(row, "fix__")
            statuses.append(
                VehicleStatusRecord(
                    **row,
                    last_event=None if event is None else _event(event),
                    last_fix=None if fix is None else LockFix(**fix),
                )
            )
        return statuses

    def _vehicle_page(
        self, query: Any, after: uuid.UUID | None, limit: int, device_id: uuid.UUID | None
    ) -> list[dict[str, Any]]:
        """One page of vehicles in id order, after the cursor `after`, or just one."""
        query = query.order_by(assets.c.id).limit(limit)
        if after is not None:
            query = query.where(assets.c.id > after)
        if device_id is not None:
            query = query.where(assets.c.id == device_id)
        return [dict(row) for row in self._c.execute(query).mappings()]

    def events(
        self,
        city_id: str,
        start: datetime,
        end: datetime,
        after: uuid.UUID | None,
        limit: int | None,
    ) -> list[VehicleEventRecord]:
        """Events with start <= at < end, oldest first, after the event `after`."""
        query = (
            select(*_event_columns())
            .where(vehicle_events.c.city_id == city_id)
            .where(vehicle_events.c.at >= start, vehicle_events.c.at < end)
            .order_by(vehicle_events.c.at, vehicle_events.c.id)
            .limit(limit)
        )
        if after is not None:
            after_at = select(vehicle_events.c.at).where(vehicle_events.c.id == after)
            query = query.where(
                tuple_(vehicle_events.c.at, vehicle_events.c.id)
                > tuple_(after_at.scalar_subquery(), literal(after, Uuid))
            )
        return [_event(row) for row in self._c.execute(query).mappings()]

    def trips(self, city_id: str, start: datetime, end: datetime) -> list[TripRecord]:
        """Rides of the city's vehicles that ended in [start, end)."""
        begin = func.coalesce(func.ST_StartPoint(rentals.c.trace), rentals.c.end_position)
        query = (
            select(
                rentals.c.id,
                rentals.c.asset_id,
                rentals.c.started_at,
                rentals.c.ended_at,
                rentals.c.distance_m,
                rentals.c.fare_minor,
                rentals.c.parking,
                rentals.c.tariff["currency"].astext.label("currency"),
                func.ST_X(begin).label("start_lon"),
                func.ST_Y(begin).label("start_lat"),
                func.ST_X(rentals.c.end_position).label("end_lon"),
                func.ST_Y(rentals.c.end_position).label("end_lat"),
            )
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(rentals.c.state == literal_column("'ended'"))
            .where(rentals.c.ended_at >= start, rentals.c.ended_at < end)
            .where(rentals.c.end_position.isnot(None))
            .order_by(rentals.c.ended_at, rentals.c.id)
        )
        return [
            TripRecord(**{**row, "parking": Parking(row["parking"]) if row["parking"] else None})
            for row in self._c.execute(query).mappings()
        ]

    def telemetry(self, city_id: str, start: datetime, end: datetime) -> list[TelemetryRecord]:
        """Every fix of the city's vehicles in [start, end), with the ride it belongs to."""
        # The ride a fix belongs to: the lock's last ride begun by then, if not yet over.
        ride = (
            select(rentals.c.id, rentals.c.ended_at)
            .where(rentals.c.lock_id == lock_positions.c.lock_id)
            .where(rentals.c.started_at <= lock_positions.c.recorded_at)
            .where(rentals.c.state.in_(["active", "ended"]))
            .order_by(rentals.c.started_at.desc())
            .limit(1)
            .lateral("ride")
        )
        during = case(
            (
                or_(ride.c.ended_at.is_(None), ride.c.ended_at >= lock_positions.c.recorded_at),
                ride.c.id,
            )
        )
        query = (
            select(assets.c.id.label("asset_id"), *_fix_columns(), during.label("rental_id"))
            .join(assets, assets.c.lock_id == lock_positions.c.lock_id)
            .join(ride, literal(True), isouter=True)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(lock_positions.c.recorded_at >= start, lock_positions.c.recorded_at < end)
            .order_by(lock_positions.c.recorded_at, lock_positions.c.lock_id)
        )
        records = []
        for row in self._c.execute(query).mappings():
            fix = {key: value for key, value in row.items() if key not in ("asset_id", "rental_id")}
            records.append(TelemetryRecord(row["asset_id"], row["rental_id"], LockFix(**fix)))
        return records

    def trip_counts(
        self, city_id: str, start: datetime, end: datetime, types: Mapping[str, str]
    ) -> dict[str, tuple[int, int]]:
        """Per vehicle type (our kinds mapped by `types`): rides started in [start, end)
        and the distinct riders who took them."""
        vehicle_type = case(
            *((assets.c.kind == kind, literal(name)) for kind, name in types.items())
        ).label("vehicle_type")
        query = (
            select(
                vehicle_type,
                cast(func.count(), Integer),
                cast(func.count(rentals.c.rider_id.distinct()), Integer),
            )
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(list(types)))
            .where(rentals.c.state.in_(["active", "ended"]))
            .where(and_(rentals.c.started_at >= start, rentals.c.started_at < end))
            .group_by(vehicle_type)
        )
        return {name: (trips, riders) for name, trips, riders in self._c.execute(query)}


class MdsClients:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, client_id: uuid.UUID, city_id: str, name: str) -> None:
        self._c.execute(insert(mds_clients).values(id=client_id, city_id=city_id, name=name))

    def city_of(self, client_id: uuid.UUID) -> str | None:
        """The city of a client whose access stands; None once revoked."""
        query = select(mds_clients.c.city_id).where(
            mds_clients.c.id == client_id, mds_clients.c.revoked_at.is_(None)
        )
        city: str | None = self._c.execute(query).scalar_one_or_none()
        return city

    def revoke(self, client_id: uuid.UUID, at: datetime) -> bool:
        result = self._c.execute(
            update(mds_clients)
            .where(mds_clients.c.id == client_id, mds_clients.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(result.rowcount)

    def listing(self) -> list[MdsClient]:
        query = select(mds_clients).order_by(mds_clients.c.created_at)
        return [MdsClient(**row) for row in self._c.execute(query).mappings()]
