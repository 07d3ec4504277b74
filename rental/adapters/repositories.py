"""Repositories: rows in, domain objects out. One small class per aggregate."""

import functools
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from enum import IntEnum
from typing import Any
from uuid import UUID

from geoalchemy2.functions import ST_X, ST_Y
from sqlalchemy import (
    Connection,
    Float,
    RowMapping,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from rental.adapters.availability import in_use, live_reservation, open_damage_reports
from rental.adapters.lock_keys import LockKeyRing
from rental.adapters.pricing_plans import CURRENT_PLAN_OF_ASSET, PLAN_COLUMNS, joined_plan
from rental.adapters.tables import (
    HELD_RESERVATION,
    OPEN_RENTAL,
    accounts,
    assets,
    cabinets,
    cities,
    locks,
    pricing_plans,
    rentals,
    reservations,
    users,
)
from rental.domain.cities import City
from rental.domain.errors import Conflict, DuplicateRequest
from rental.domain.fleet import Asset, AssetKind, Cabinet, Lock
from rental.domain.ledger import AccountKind
from rental.domain.rentals import RentalState
from rental.domain.riders import Role, User
from rental.services.read_models import AssetOverview, ScanTarget
from rental.services.repositories.fleet import LatchRecord, LockTelemetry

# Unique constraints that guard business rules, and what breaking them means.
_CONFLICTS = {
    "users_phone_key": ("an account with this phone number exists", "phone_taken"),
    "assets_code_key": ("an asset with this code is registered", "asset_exists"),
    "assets_lock_id_key": ("this lock already holds an asset", "lock_in_use"),
    "assets_one_per_slot": ("that cabinet slot already holds an item", "slot_taken"),
    "cabinets_pkey": ("this device is registered as a cabinet already", "cabinet_exists"),
    "rentals_one_open_per_asset": ("someone else is using this asset", "asset_in_use"),
    "rentals_one_open_per_rider": ("finish your current rental first", "rental_in_progress"),
    "disputes_one_open_per_rental": ("this rental already has an open dispute", "dispute_open"),
    "reservations_one_per_rider": ("you already hold a reservation", "reservation_held"),
    "reservations_one_per_asset": ("someone else has reserved this vehicle", "asset_reserved"),
    "damage_reports_one_open_per_reporter": (
        "you have already reported damage to this asset",
        "damage_already_reported",
    ),
}


# A repeated request: the caller answers with what the first one did.
IDEMPOTENCY_KEYS = {"rentals_rider_idempotency_key", "reservations_rider_idempotency_key"}


@contextmanager
def conflicts_as_errors() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint in IDEMPOTENCY_KEYS:
            raise DuplicateRequest("request already received", "duplicate_request") from exc
        if constraint in _CONFLICTS:
            message, code = _CONFLICTS[constraint]
            raise Conflict(message, code) from exc
        raise


class AdvisoryLock(IntEnum):
    """The first key of a transaction-level advisory lock: what is held, per rider (the
    second key). Nothing else locks by these, so they never wait on a row lock's order."""

    DAMAGE_REPORTS = 1
    PAYMENT_ORDERS = 2
    FEED_RENDERS = 3  # per city and feed (rental.adapters.shared_feeds), not per rider
    VEHICLE_STATUS_ROWS = 4  # per city (rental.adapters.open_data), not per rider
    ARRIVAL_DATED_FIXES = 5  # per lock (rental.adapters.lock_log), not per rider


def hold_rider_lock(connection: Connection, kind: AdvisoryLock, rider_id: UUID) -> None:
    """Wait for, and hold until the transaction ends, the rider's lock of this kind."""
    connection.execute(select(func.pg_advisory_xact_lock(int(kind), func.hashtext(str(rider_id)))))


def point(lon: float, lat: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


# Read with every rental shown to its rider: built once (see `_scan_statement`).
_TIME_ZONES_OF_ASSETS = (
    select(assets.c.id, cities.c.timezone)
    .join(cities, cities.c.id == assets.c.city_id)
    .where(assets.c.id.in_(bindparam("asset_ids", expanding=True)))
)


class CabinetRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, cabinet: Cabinet) -> None:
        with conflicts_as_errors():
            self._c.execute(
                insert(cabinets).values(**{**asdict(cabinet), "kind": cabinet.kind.value})
            )

    def get(self, lock_id: str) -> Cabinet | None:
        row = (
            self._c.execute(select(cabinets).where(cabinets.c.lock_id == lock_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Cabinet(row["lock_id"], row["city_id"], AssetKind(row["kind"]), row["slots"])


class CityRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, city: City) -> None:
        """Raises Conflict `city_exists` for an id taken."""
        try:
            with self._c.begin_nested():
                self._c.execute(insert(cities).values(**_city_values(city)))
        except IntegrityError:
            raise Conflict(f"a city {city.id} exists already", "city_exists", "id") from None

    def get(self, city_id: str, *, for_update: bool = False) -> City | None:
        query = select(*_city_columns).where(cities.c.id == city_id)
        if for_update:
            query = query.with_for_update(of=cities, key_share=True)
        row = self._c.execute(query).mappings().first()
        return _city(row) if row else None

    def all(self) -> list[City]:
        rows = self._c.execute(select(*_city_columns).order_by(cities.c.id)).mappings()
        return [_city(row) for row in rows]

    def save(self, city: City) -> None:
        """Stores the city's settings and its retirement; never its id or currency."""
        values = _city_values(city)
        for fixed in ("id", "currency", "launched_at"):
            values.pop(fixed, None)
        self._c.execute(update(cities).where(cities.c.id == city.id).values(**values))

    def open_rides(self, city_id: str) -> int:
        return int(
            self._c.execute(
                select(func.count())
                .select_from(rentals.join(assets, assets.c.id == rentals.c.asset_id))
                .where(assets.c.city_id == city_id, OPEN_RENTAL)
            ).scalar_one()
        )

    def currency_of(self, city_id: str) -> str | None:
        return self._c.execute(select(cities.c.currency).where(cities.c.id == city_id)).scalar()

    def time_zones_of_assets(self, asset_ids: Collection[UUID]) -> dict[UUID, str]:
        if not asset_ids:
            return {}
        rows = self._c.execute(_TIME_ZONES_OF_ASSETS, {"asset_ids": list(asset_ids)})
        return {asset_id: zone for asset_id, zone in rows}

    def timezone_of(self, city_id: str) -> str | None:
        return self._c.execute(select(cities.c.timezone).where(cities.c.id == city_id)).scalar()


_city_columns = [
    cities.c.id,
    cities.c.name,
    cities.c.timezone.label("time_zone"),
    cities.c.currency,
    cities.c.locale,
    ST_X(cities.c.center).label("center_lon"),
    ST_Y(cities.c.center).label("center_lat"),
    cities.c.launched_at,
    cities.c.retired_at,
    cities.c.payment_gateways,
    cities.c.default_gateway,
]


def _city(row: Any) -> City:
    return City(**{**row, "payment_gateways": tuple(row["payment_gateways"])})


def _city_values(city: City) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": city.id,
        "name": city.name,
        "timezone": city.time_zone,
        "currency": city.currency,
        "locale": city.locale,
        "center": point(city.center_lon, city.center_lat),
        "retired_at": city.retired_at,
        "payment_gateways": list(city.payment_gateways),
        "default_gateway": city.default_gateway,
    }
    if city.launched_at is not None:
        values["launched_at"] = city.launched_at
    return values


class UserRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, user: User) -> None:
        with conflicts_as_errors():
            self._c.execute(insert(users).values(**{**asdict(user), "role": user.role.value}))

    def by_phone(self, phone: str) -> User | None:
        row = self._c.execute(select(users).where(users.c.phone == phone)).mappings().first()
        return _user(row) if row else None

    def get(self, user_id: UUID) -> User | None:
        row = self._c.execute(select(users).where(users.c.id == user_id)).mappings().first()
        return _user(row) if row else None

    def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        self._c.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )

    def mark_phone_proven(self, user_id: UUID) -> None:
        self._c.execute(update(users).where(users.c.id == user_id).values(phone_proven=True))

    def joined_at(self, user_id: UUID) -> datetime | None:
        query = select(users.c.created_at).where(users.c.id == user_id)
        return self._c.execute(query).scalar()


def _user(row: RowMapping) -> User:
    return User(
        row["id"],
        row["phone"],
        row["name"],
        Role(row["role"]),
        row["password_hash"],
        row["phone_proven"],
    )


_lock_columns = [
    # `parked_position` is `position` or NULL (kept by PostgreSQL for spatial searches).
    *(c for c in locks.c if c.name not in ("position", "parked_position")),
    ST_X(locks.c.position).label("lon"),
    ST_Y(locks.c.position).label("lat"),
]


# The statements of every lock report, built once (see `_scan_statement`).
_LOCK = select(*_lock_columns).where(locks.c.id == bindparam("lock_id", type_=locks.c.id.type))
_LOCK_FOR_UPDATE = _LOCK.with_for_update(of=locks, key_share=True)


def _latch_update() -> Any:
    """Parameters: `lock_id`, and the report's `latched`, `report_boot`, `report_seq`,
    time `at`, arrival `seen_at` and position `lon`, `lat` (not named after a column: those
    names are the update's own)."""
    at = bindparam("at", type_=locks.c.latch_reported_at.type)
    boot = bindparam("report_boot", type_=locks.c.latch_boot.type)
    seq = bindparam("report_seq", type_=locks.c.latch_seq.type)
    # A seq not known reads as 0, as `latch_records` reads it for telemetry.
    newer = or_(
        locks.c.latch_boot.is_(None),
        tuple_(locks.c.latch_boot, func.coalesce(locks.c.latch_seq, 0)) < tuple_(boot, seq),
    )

    def if_newer(value: Any, column: Any) -> Any:
        return case((newer, value), else_=column)

    # An event is also when its lock was last heard from, and where when it says so:
    # kept in this same update (NULLs change nothing; greatest() ignores them).
    seen_at = bindparam("seen_at", type_=locks.c.last_seen_at.type)
    # Typed in the SQL too: a NULL parameter alone tells PostgreSQL no type.
    lon, lat = (cast(bindparam(name, type_=Float), Float) for name in ("lon", "lat"))
    return (
        update(locks)
        .where(locks.c.id == bindparam("lock_id", type_=locks.c.id.type))
        .values(
            last_seen_at=func.greatest(locks.c.last_seen_at, seen_at),
            position=case(
                (or_(lon.is_(None), lat.is_(None)), locks.c.position),
                else_=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
            ),
            locked=if_newer(bindparam("latched", type_=locks.c.locked.type), locks.c.locked),
            latch_boot=if_newer(boot, locks.c.latch_boot),
            latch_seq=if_newer(seq, locks.c.latch_seq),
            latch_reported_at=if_newer(at, locks.c.latch_reported_at),
            latch_unknown_since=case(
                (locks.c.latch_unknown_since <= at, None),
                else_=locks.c.latch_unknown_since,
            ),
        )
        .returning(locks.c.latch_boot, locks.c.latch_seq)
    )


_RECORD_LATCH = _latch_update()


@functools.cache
def _record_seen(locked: bool, battery: bool, positioned: bool) -> Any:
    """The update of `record_seen` for the fields a report carries, built once each:
    parameters `lock_id`, `at`, and `latched`, `charge`, `lon` and `lat` as told (not
    named after a column: those names are the update's own)."""
    at = bindparam("at", type_=locks.c.last_seen_at.type)
    values: dict[str, Any] = {"last_seen_at": func.greatest(locks.c.last_seen_at, at)}
    if locked:
        values["locked"] = bindparam("latched", type_=locks.c.locked.type)
    if battery:
        values["battery_pct"] = bindparam("charge", type_=locks.c.battery_pct.type)
    if positioned:
        lon, lat = bindparam("lon", type_=Float), bindparam("lat", type_=Float)
        values["position"] = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    lock_id = bindparam("lock_id", type_=locks.c.id.type)
    before = _previous_row(locks.c.battery_pct.label("before"), lock_id)
    return (
        update(locks)
        .where(locks.c.id == lock_id, locks.c.id == before.c.id)
        .values(**values)
        .returning(before.c.before)
    )


def _previous_row(column: Any, lock_id: Any) -> Any:
    # UPDATE ... RETURNING sees only new values; the row locked first gives the old.
    # FOR NO KEY UPDATE, the lock the UPDATE takes anyway: FOR UPDATE would also wait
    # for every rental being inserted for this lock (their foreign key's KEY SHARE),
    # and deadlock with two scans racing for its bike.
    return (
        select(locks.c.id, column)
        .where(locks.c.id == lock_id)
        .with_for_update(key_share=True)  # renders FOR NO KEY UPDATE
        .subquery("before")
    )


# Rows are locked FOR NO KEY UPDATE (`key_share=True`), never FOR UPDATE: we never change
# a key, and FOR UPDATE would also block every insert whose foreign key points at the row
# (a rental, a vehicle event), which deadlocked a losing scan with the winner's unlock.


# Telemetry's batches: the rows of their locks held in id order (FOR NO KEY UPDATE, as
# below), then every lock's changes in one statement, its columns passed as arrays in
# binary (see `rental.adapters.lock_log`).
_LATCH_RECORDS = """
    SELECT id, latch_boot, latch_seq, battery_pct FROM locks
    WHERE id = ANY(CAST(%(ids)b AS text[])) ORDER BY id FOR NO KEY UPDATE
    """
_KNOWN_LOCKS = "SELECT id FROM locks WHERE id = ANY(CAST(%(ids)b AS text[]))"
_RECORD_TELEMETRY = """
    UPDATE locks SET
        last_seen_at = greatest(locks.last_seen_at, t.seen_at),
        latch_unknown_since = CASE WHEN locks.latch_unknown_since <= t.heard_at THEN NULL
                                   ELSE locks.latch_unknown_since END,
        locked = CASE WHEN t.latch_boot IS NULL THEN locks.locked ELSE t.locked END,
        latch_boot = coalesce(t.latch_boot, locks.latch_boot),
        latch_seq = coalesce(t.latch_seq, locks.latch_seq),
        latch_reported_at = coalesce(t.latched_at, locks.latch_reported_at),
        battery_pct = coalesce(t.battery_pct, locks.battery_pct),
        position = CASE WHEN t.lon IS NULL THEN locks.position
                        ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) END
    FROM unnest(
        CAST(%(ids)b AS text[]), CAST(%(seen)b AS timestamptz[]),
        CAST(%(heard)b AS timestamptz[]), CAST(%(locked)b AS boolean[]),
        CAST(%(boots)b AS bigint[]), CAST(%(seqs)b AS bigint[]),
        CAST(%(latched)b AS timestamptz[]), CAST(%(batteries)b AS integer[]),
        CAST(%(lons)b AS float8[]), CAST(%(lats)b AS float8[])
    ) AS t(lock_id, seen_at, heard_at, locked, latch_boot, latch_seq, latched_at,
           battery_pct, lon, lat)
    WHERE locks.id = t.lock_id
    """


class LockRepository:
    """Signing keys are sealed with `keys` on the way in and opened on the way out: the
    domain's Lock holds the key itself, the table only its sealed form."""

    def __init__(self, connection: Connection, keys: LockKeyRing) -> None:
        self._c = connection
        self._keys = keys

    def add(self, lock: Lock) -> None:
        sealed = self._keys.seal(lock.signing_key)
        self._c.execute(insert(locks).values(id=lock.id, signing_key=sealed))

    def get(self, lock_id: str, *, for_update: bool = False) -> Lock | None:
        query = _LOCK_FOR_UPDATE if for_update else _LOCK
        row = self._c.execute(query, {"lock_id": lock_id}).mappings().first()
        return _lock(row, self._keys) if row else None

    def record_presence(self, lock_id: str, online: bool, boot: int, at: datetime) -> bool | None:
        """Whether the lock was online before; None when the report changed nothing."""
        # A late Will from an earlier boot must not mark a rebooted lock offline.
        before = self._previous(locks.c.online.label("before"), lock_id)
        result = self._c.execute(
            update(locks)
            .where(locks.c.id == lock_id, locks.c.id == before.c.id)
            .where((locks.c.boot.is_(None)) | (locks.c.boot <= boot))
            .values(online=online, boot=boot, last_seen_at=at)
            .returning(before.c.before)
        )
        was: bool | None = result.scalar_one_or_none()
        return was

    def record_seen(
        self,
        lock_id: str,
        at: datetime,
        *,
        locked: bool | None = None,
        battery_pct: int | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> int | None:
        """Returns the battery charge the lock reported before this."""
        parameters: dict[str, Any] = {"lock_id": lock_id, "at": at}
        if locked is not None:
            parameters["latched"] = locked
        if battery_pct is not None:
            parameters["charge"] = battery_pct
        positioned = lon is not None and lat is not None
        if positioned:
            parameters["lon"], parameters["lat"] = lon, lat
        statement = _record_seen(locked is not None, battery_pct is not None, positioned)
        charge: int | None = self._c.execute(statement, parameters).scalar_one_or_none()
        return charge

    def record_latch(
        self,
        lock_id: str,
        locked: bool,
        boot: int,
        seq: int,
        at: datetime,
        *,
        seen_at: datetime | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> bool:
        """Keep the latch state of the lock's newest report, by its own (boot, seq): a
        report delivered late never overrides a newer one. A report at or after an
        unanswered unlock (by the lock's clock) also ends the doubt about the latch.
        `seen_at` and `lon`, `lat` (WGS 84) are kept as `record_seen` keeps them.
        Returns whether this report is now the lock's newest. One statement, built once: it
        runs for every event."""
        report = {
            "lock_id": lock_id,
            "latched": locked,
            "report_boot": boot,
            "report_seq": seq,
            "at": at,
            "seen_at": seen_at,
            "lon": lon,
            "lat": lat,
        }
        row = self._c.execute(_RECORD_LATCH, report).first()
        return row is not None and (row.latch_boot, row.latch_seq) == (boot, seq)

    def known(self, lock_ids: Collection[str]) -> set[str]:
        if not lock_ids:
            return set()
        return set(self._c.exec_driver_sql(_KNOWN_LOCKS, {"ids": list(lock_ids)}).scalars())

    def latch_records(self, lock_ids: Collection[str]) -> dict[str, LatchRecord]:
        if not lock_ids:
            return {}
        rows = self._c.exec_driver_sql(_LATCH_RECORDS, {"ids": sorted(lock_ids)})
        return {
            lock_id: LatchRecord(None if boot is None else (boot, seq or 0), battery)
            for lock_id, boot, seq, battery in rows
        }

    def record_telemetry(self, changes: Sequence[LockTelemetry]) -> None:
        if not changes:
            return
        latches = [change.latch for change in changes]
        self._c.exec_driver_sql(
            _RECORD_TELEMETRY,
            {
                "ids": [change.lock_id for change in changes],
                "seen": [change.seen_at for change in changes],
                "heard": [change.heard_at for change in changes],
                "locked": [None if latch is None else latch.locked for latch in latches],
                "boots": [None if latch is None else latch.boot for latch in latches],
                "seqs": [None if latch is None else latch.seq for latch in latches],
                "latched": [None if latch is None else latch.at for latch in latches],
                "batteries": [change.battery_pct for change in changes],
                "lons": [None if c.position is None else c.position[0] for c in changes],
                "lats": [None if c.position is None else c.position[1] for c in changes],
            },
        )

    def mark_latch_unknown(self, lock_id: str, since: datetime) -> None:
        """An unlock sent at `since` went unanswered: the latch may be open, until the lock
        reports it (by its clock) at or after `since`."""
        self._c.execute(
            update(locks)
            .where(locks.c.id == lock_id)
            .values(latch_unknown_since=func.greatest(locks.c.latch_unknown_since, since))
        )

    def open_latches_without_rental(self) -> list[tuple[str, datetime | None]]:
        """Vehicle locks whose latest report says open while no rental is unlocking or
        riding with them: (lock id, when it reported so). Cabinets are not latches."""
        riding = select(rentals.c.id).where(rentals.c.lock_id == locks.c.id, OPEN_RENTAL)
        query = (
            select(locks.c.id, locks.c.latch_reported_at)
            .join(assets, assets.c.lock_id == locks.c.id)
            .where(locks.c.locked.is_(False), ~riding.exists())
        )
        return [(row[0], row[1]) for row in self._c.execute(query)]

    def _previous(self, column: Any, lock_id: str) -> Any:
        return _previous_row(column, lock_id)


def _rider_balance(kind: AccountKind, owner: Any) -> Any:
    """A rider account's balance in the currency of the plan joined in the same query;
    `owner` is the rider's id as text (or a parameter that will be)."""
    return (
        select(accounts.c.balance_minor)
        .where(
            accounts.c.kind == kind.value,
            accounts.c.owner_id == owner,
            accounts.c.currency == pricing_plans.c.currency,
        )
        .scalar_subquery()
    )


def _prefixed(row: RowMapping, prefix: str) -> dict[str, Any]:
    return {key.removeprefix(prefix): row[key] for key in row if key.startswith(prefix)}


def _lock(row: RowMapping | dict[str, Any], keys: LockKeyRing) -> Lock:
    return Lock(
        id=row["id"],
        signing_key=keys.open(row["id"], bytes(row["signing_key"])),
        online=row["online"],
        boot=row["boot"],
        locked=row["locked"],
        battery_pct=row["battery_pct"],
        lon=row["lon"],
        lat=row["lat"],
        last_seen_at=row["last_seen_at"],
        latch_unknown_since=row["latch_unknown_since"],
        latch_report=(
            None if row["latch_boot"] is None else (row["latch_boot"], row["latch_seq"] or 0)
        ),
    )


class AssetRepository:
    def __init__(self, connection: Connection, keys: LockKeyRing) -> None:
        self._c = connection
        self._keys = keys  # a scan's target carries its lock, signing key opened

    def add(self, asset: Asset) -> None:
        with conflicts_as_errors():
            self._c.execute(insert(assets).values(**{**asdict(asset), "kind": asset.kind.value}))

    def get(self, asset_id: UUID) -> Asset | None:
        row = self._c.execute(select(assets).where(assets.c.id == asset_id)).mappings().first()
        return _asset(row) if row else None

    def uses_lock(self, lock_id: str) -> bool:
        return (
            self._c.execute(select(assets.c.id).where(assets.c.lock_id == lock_id)).first()
            is not None
        )

    def by_code(self, code: str, *, for_update: bool = False) -> Asset | None:
        query = select(assets).where(assets.c.code == code)
        if for_update:
            query = query.with_for_update(key_share=True)
        row = self._c.execute(query).mappings().first()
        return _asset(row) if row else None

    def dock(self, asset_id: UUID, cabinet_id: str | None, slot: int | None) -> None:
        """Record where an item is now; whatever the slot held before has left it."""
        if cabinet_id is not None:
            self._c.execute(
                update(assets)
                .where(assets.c.cabinet_id == cabinet_id, assets.c.slot == slot)
                .where(assets.c.id != asset_id)
                .values(cabinet_id=None, slot=None)
            )
        self._c.execute(
            update(assets).where(assets.c.id == asset_id).values(cabinet_id=cabinet_id, slot=slot)
        )

    def rotate_public_id(self, asset_id: UUID) -> None:
        """A new public id after each trip: open data cannot link one rider's trips."""
        self._c.execute(
            update(assets)
            .where(assets.c.id == asset_id)
            .values(public_id=func.gen_random_uuid().cast(Text))
        )

    def set_needs_retrieval(self, asset_id: UUID, needs_retrieval: bool) -> None:
        self.update_service(asset_id, needs_retrieval=needs_retrieval)

    def update_service(self, asset_id: UUID, **changes: bool) -> None:
        self._c.execute(update(assets).where(assets.c.id == asset_id).values(**changes))

    def for_scan(
        self,
        code: str,
        rider_id: UUID | None = None,
        idempotency_key: str | None = None,
        *,
        for_update: bool = False,
    ) -> ScanTarget | None:
        """The asset, its lock, its price and whether it is taken, in one round trip.

        `for_update` holds the asset's row until the transaction ends, so a scan and a
        reservation of the same asset cannot both succeed."""
        parameters = {
            "code": code,
            "rider_id": rider_id,
            "rider_owner": None if rider_id is None else str(rider_id),
            "idempotency_key": idempotency_key,
        }
        row = self._c.execute(_scan_statement(for_update), parameters).mappings().first()
        if row is None:
            return None
        return ScanTarget(
            _asset(row),
            _lock(_prefixed(row, "lock__"), self._keys),
            joined_plan(row),
            row["taken"],
            row["rider_debt"],
            row["rider_deposit"],
            row["rider_credit_score"],
            row["earlier_rental_id"],
            row["open_damage_reports"],
            row["held_reservation_id"],
            row["rider_reservation_id"],
            row["city_retired"],
            row["city_time_zone"],
        )

    def overview(self, now: datetime, city_id: str | None = None) -> list[AssetOverview]:
        """Every asset with its device's state, its rental, reservation and damage reports."""
        open_rental = (
            select(rentals.c.state)
            .where(rentals.c.asset_id == assets.c.id, OPEN_RENTAL)
            .scalar_subquery()
        )
        query = (
            select(
                assets.c.id,
                assets.c.code,
                assets.c.kind,
                assets.c.city_id,
                assets.c.lock_id,
                assets.c.cabinet_id,
                assets.c.slot,
                assets.c.in_service,
                assets.c.needs_retrieval,
                locks.c.online,
                locks.c.locked,
                locks.c.latch_unknown_since.isnot(None).label("latch_unknown"),
                locks.c.battery_pct,
                locks.c.last_seen_at,
                ST_X(locks.c.position).label("lon"),
                ST_Y(locks.c.position).label("lat"),
                open_rental.label("rental_state"),
                live_reservation(now).exists().label("reserved"),
                open_damage_reports().label("open_damage_reports"),
            )
            .join(locks, HOLDING_DEVICE, isouter=True)
            .order_by(assets.c.code)
        )
        if city_id is not None:
            query = query.where(assets.c.city_id == city_id)
        return [
            AssetOverview(
                **{
                    **row,
                    "kind": AssetKind(row["kind"]),
                    "rental_state": row["rental_state"] and RentalState(row["rental_state"]),
                }
            )
            for row in self._c.execute(query).mappings()
        ]


@functools.cache
def _scan_statement(for_update: bool) -> Any:
    """The scan's one query, built once: SQLAlchemy then reuses its compiled form and cache
    key (built for each scan, it cost about four times what running it did). Parameters:
    `code`, `rider_id`, `rider_owner` (the rider's id as account owner) and
    `idempotency_key`; a missing rider matches no row."""
    rider_id = bindparam("rider_id", type_=rentals.c.rider_id.type)
    earlier = (
        select(rentals.c.id)
        .where(
            rentals.c.rider_id == rider_id,
            rentals.c.idempotency_key == bindparam("idempotency_key", type_=String),
        )
        .scalar_subquery()
    )
    held = (
        select(reservations.c.id)
        .where(reservations.c.asset_id == assets.c.id, HELD_RESERVATION)
        .scalar_subquery()
    )
    riders_reservation = (
        select(reservations.c.id)
        .where(reservations.c.rider_id == rider_id, HELD_RESERVATION)
        .scalar_subquery()
    )
    owner = bindparam("rider_owner", type_=String)
    debt = -_rider_balance(AccountKind.RIDER_RECEIVABLE, owner)
    deposit = _rider_balance(AccountKind.RIDER_DEPOSIT, owner)
    score = select(users.c.credit_score).where(users.c.id == rider_id).scalar_subquery()
    retired = (
        select(cities.c.retired_at.isnot(None))
        .where(cities.c.id == assets.c.city_id)
        .scalar_subquery()
    )
    zone = select(cities.c.timezone).where(cities.c.id == assets.c.city_id).scalar_subquery()
    query = (
        select(
            *assets.c,
            *(c.label(f"lock__{c.name}") for c in _lock_columns),
            *PLAN_COLUMNS,
            in_use().label("taken"),
            earlier.label("earlier_rental_id"),
            open_damage_reports().label("open_damage_reports"),
            held.label("held_reservation_id"),
            riders_reservation.label("rider_reservation_id"),
            func.coalesce(debt, 0).label("rider_debt"),
            func.coalesce(deposit, 0).label("rider_deposit"),
            func.coalesce(score, 0).label("rider_credit_score"),
            retired.label("city_retired"),
            zone.label("city_time_zone"),
        )
        .join(locks, HOLDING_DEVICE)
        .outerjoin(pricing_plans, CURRENT_PLAN_OF_ASSET)
        .where(assets.c.code == bindparam("code", type_=String))
    )
    if for_update:
        query = query.with_for_update(of=assets, key_share=True)
    return query


def _asset(row: RowMapping | dict[str, Any]) -> Asset:
    return Asset(
        id=row["id"],
        code=row["code"],
        kind=AssetKind(row["kind"]),
        city_id=row["city_id"],
        lock_id=row["lock_id"],
        in_service=row["in_service"],
        cabinet_id=row["cabinet_id"],
        slot=row["slot"],
    )


# The device that holds an asset now: a vehicle's own lock, or an item's cabinet.
HOLDING_DEVICE = locks.c.id == assets.c.device_id
