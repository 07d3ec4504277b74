"""In-memory stand-ins for the unit of work and the ports, so that a use case runs in
milliseconds without PostgreSQL, Mosquitto or a payment gateway (cosmicpython's
FakeRepository and FakeUnitOfWork, grown to this platform's repositories).

Every fake repository copies the rules its SQL adapter in `rental.adapters` enforces:
the unique constraints that mean a business error (`Conflict`, `DuplicateRequest`), the
availability of an asset (`rental.domain.fleet.unavailable_because`, which is what
`rental.adapters.availability` says in SQL), the ledger's balanced postings and running
balances, one current pricing plan per city and kind, and rows of `dict[str, Any]` with
the same keys as the adapter's. A constraint the adapter leaves as a bare IntegrityError
raises `IntegrityViolation` here. Foreign keys are not checked, except where an adapter
turns one into an answer (`LockLog`: NotFound for an unknown lock).

PostGIS is approximated with shapely and haversine (`rental.domain.trace.distance_m`):
lengths and distances on a sphere rather than the WGS 84 spheroid (within 0.5 %);
coverage tests are planar in degrees, as PostGIS does them on `geometry`. Each docstring
that says "approximates" names what else differs.

One `Store` holds every table. `FakeUnitOfWork` snapshots it on `__enter__` and puts the
snapshot back on `__exit__` unless `commit()` was called, so work not committed is rolled
back. Several units of work share one store (`fake_uow_factory`), as `Platform.uow()`
hands out connections to one database. Units of work that overlap in time are not
isolated from each other: a rollback restores its own snapshot, dropping what another
committed meanwhile. The use cases run one at a time, so none does that.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from itertools import pairwise
from types import TracebackType
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo

from shapely.geometry import LineString, MultiPolygon, Point, mapping, shape
from shapely.wkt import loads as load_wkt

from rebalancing.plans import PlannedStop, Summary
from rebalancing.state import Hotspot, ParkedBike
from rental.domain.alerts import Alert, AlertKind, DeadLetter
from rental.domain.credit import INITIAL_SCORE, CreditReason, score_after
from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import Conflict, DuplicateRequest, NotFound
from rental.domain.fleet import (
    VEHICLE_KINDS,
    Asset,
    AssetKind,
    Cabinet,
    Condition,
    Lock,
    ServicePolicy,
    unavailable_because,
)
from rental.domain.gbfs import EBIKE_RANGE_METERS
from rental.domain.ledger import AccountKind, AccountRef, Posting, check_balanced
from rental.domain.maintenance import DamageReport, ReportState
from rental.domain.mds import VehicleEvent
from rental.domain.payments import OrderState, PaymentOrder, Purpose, Refund
from rental.domain.pricing import PricingPlan, Tariff
from rental.domain.rebalancing import (
    PlanState,
    PlanStop,
    RebalancingPlan,
    RunTrigger,
    TruckFleet,
)
from rental.domain.rentals import Rental, RentalState
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.riders import User
from rental.domain.trace import Fix, SpeedSample, distance_m
from rental.domain.zones import Zone, ZoneKind
from rental.services.ports import (
    GatewayError,
    GatewayOrder,
    LockChannelError,
    Notification,
)
from rental.services.read_models import ScanTarget
from rental.services.repositories.rebalancing import StartsByCell, StartsByZone

# --- what the SQL adapters' constraints mean ----------------------------------------------

# As `rental.adapters.repositories._CONFLICTS` (test_fakes checks that they agree): a copy,
# so that unit tests import no SQLAlchemy.
CONFLICTS = {
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
IDEMPOTENCY_KEYS = {"rentals_rider_idempotency_key", "reservations_rider_idempotency_key"}

OPEN_RENTAL_STATES = (RentalState.UNLOCKING, RentalState.ACTIVE)
VEHICLE_KIND_VALUES = {kind.value for kind in VEHICLE_KINDS}
# As `rental.adapters.rebalancing_night`: hotspots are the operator's parking zones.
HOTSPOT_KIND = ZoneKind.PARKING


class IntegrityViolation(Exception):
    """A constraint the SQL adapter does not turn into a business error (a primary key, a
    check): PostgreSQL would raise IntegrityError, a bug in the caller."""


def _as_error(constraint: str) -> Exception:
    """What `rental.adapters.repositories.conflicts_as_errors` makes of a broken constraint."""
    if constraint in IDEMPOTENCY_KEYS:
        return DuplicateRequest("request already received", "duplicate_request")
    if constraint in CONFLICTS:
        message, code = CONFLICTS[constraint]
        return Conflict(message, code)
    return IntegrityViolation(constraint)


T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the tables ---------------------------------------------------------------------------


@dataclass
class _City:
    id: str
    name: str
    currency: str
    timezone: str
    lon: float
    lat: float


@dataclass
class _UserRow:
    user: User
    credit_score: int
    created_at: datetime


@dataclass
class _CreditEvent:
    id: int
    user_id: uuid.UUID
    reason: str
    delta: int
    score_after: int
    reference: str
    created_at: datetime


@dataclass
class _LockRow:
    lock: Lock
    created_at: datetime
    # The (boot, seq) of the report `locked` came from.
    latch_boot: int | None = None
    latch_seq: int | None = None
    latch_reported_at: datetime | None = None


@dataclass
class _AssetRow:
    asset: Asset
    created_at: datetime
    needs_retrieval: bool = False
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _PlanRow:
    plan: PricingPlan
    created_at: datetime
    retired_at: datetime | None = None


@dataclass
class _RentalRow:
    rental: Rental
    trace: list[tuple[float, float]] | None = None  # (lon, lat), as the LineString
    end_position: tuple[float, float] | None = None


@dataclass
class _EventRow:
    lock_id: str
    boot: int
    seq: int
    type: str
    cmd_id: str | None
    payload: dict[str, Any]
    lock_time: datetime
    received_at: datetime


@dataclass
class _FixRow:
    lock_id: str
    boot: int
    seq: int
    recorded_at: datetime
    lon: float
    lat: float
    locked: bool
    battery_pct: int | None
    accuracy_m: float | None


@dataclass
class _Account:
    id: int
    kind: str
    currency: str
    owner_id: str  # '' for the platform's own accounts
    balance_minor: int = 0  # kept for rider accounts only, as in PostgreSQL


@dataclass
class _Transaction:
    id: uuid.UUID
    kind: str
    reference: str
    created_at: datetime


@dataclass
class _PostingRow:
    id: int
    transaction: _Transaction
    account_id: int
    amount_minor: int


@dataclass
class _ZoneRow:
    id: uuid.UUID
    city_id: str
    kind: ZoneKind
    name: str
    max_speed_kph: float | None
    geometry: MultiPolygon
    created_at: datetime


@dataclass
class _SpeedingRow:
    id: int
    rental_id: uuid.UUID
    zone_id: uuid.UUID | None
    zone_name: str
    recorded_at: datetime
    speed_kph: float
    max_speed_kph: float
    lon: float
    lat: float


@dataclass
class _VehicleEventRow:
    id: uuid.UUID
    asset_id: uuid.UUID
    city_id: str
    kind: str
    at: datetime
    recorded_at: datetime
    lon: float
    lat: float
    battery_pct: int | None
    rental_id: uuid.UUID | None


@dataclass
class Store:
    """Every table of the platform, in memory. Shared by the units of work of one test;
    `clock` stands in for PostgreSQL's now() (creation and retirement times)."""

    clock: Callable[[], datetime] = utc_now
    cities: dict[str, _City] = field(default_factory=dict)
    users: dict[uuid.UUID, _UserRow] = field(default_factory=dict)
    credit_events: list[_CreditEvent] = field(default_factory=list)
    locks: dict[str, _LockRow] = field(default_factory=dict)
    assets: dict[uuid.UUID, _AssetRow] = field(default_factory=dict)
    cabinets: dict[str, Cabinet] = field(default_factory=dict)
    pricing_plans: list[_PlanRow] = field(default_factory=list)
    rentals: dict[uuid.UUID, _RentalRow] = field(default_factory=dict)
    lock_events: dict[tuple[str, int, int], _EventRow] = field(default_factory=dict)
    lock_positions: dict[tuple[str, int, int], _FixRow] = field(default_factory=dict)
    lock_report_problems: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: dict[int, DeadLetter] = field(default_factory=dict)
    alerts: dict[int, Alert] = field(default_factory=dict)
    accounts: dict[tuple[str, str, str], _Account] = field(default_factory=dict)
    transactions: dict[str, _Transaction] = field(default_factory=dict)
    postings: list[_PostingRow] = field(default_factory=list)
    payment_orders: dict[uuid.UUID, PaymentOrder] = field(default_factory=dict)
    refunds: dict[uuid.UUID, Refund] = field(default_factory=dict)
    disputes: dict[uuid.UUID, Dispute] = field(default_factory=dict)
    zones: dict[uuid.UUID, _ZoneRow] = field(default_factory=dict)
    speeding_events: list[_SpeedingRow] = field(default_factory=list)
    reservations: dict[uuid.UUID, Reservation] = field(default_factory=dict)
    damage_reports: dict[uuid.UUID, DamageReport] = field(default_factory=dict)
    vehicle_events: list[_VehicleEventRow] = field(default_factory=list)
    mds_clients: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    rebalancing_fleets: dict[str, TruckFleet] = field(default_factory=dict)
    rebalancing_plans: dict[uuid.UUID, RebalancingPlan] = field(default_factory=dict)
    rebalancing_stops: dict[tuple[uuid.UUID, int, int], PlanStop] = field(default_factory=dict)
    # What committed units of work notified, in order: (channel, payload).
    notifications: list[tuple[str, str]] = field(default_factory=list)
    _serials: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """A BIGSERIAL: 1, 2, ... per table (rolled back with the rest, unlike PostgreSQL)."""
        self._serials[table] = self._serials.get(table, 0) + 1
        return self._serials[table]

    def restore(self, snapshot: Store) -> None:
        for column in fields(self):
            setattr(self, column.name, getattr(snapshot, column.name))

    # Reads several repositories share.

    def lock_of(self, lock_id: str | None) -> _LockRow | None:
        return self.locks.get(lock_id) if lock_id is not None else None

    def open_rental_of_asset(self, asset_id: uuid.UUID) -> Rental | None:
        for row in self.rentals.values():
            if row.rental.asset_id == asset_id and row.rental.state in OPEN_RENTAL_STATES:
                return row.rental
        return None

    def hold_on(self, asset_id: uuid.UUID) -> Reservation | None:
        """The asset's hold in state `held`, perhaps expired but not yet swept."""
        return self._held(lambda reservation: reservation.asset_id == asset_id)

    def hold_of(self, rider_id: uuid.UUID) -> Reservation | None:
        return self._held(lambda reservation: reservation.rider_id == rider_id)

    def _held(self, matches: Callable[[Reservation], bool]) -> Reservation | None:
        for reservation in self.reservations.values():
            if reservation.state is ReservationState.HELD and matches(reservation):
                return reservation
        return None

    def open_damage_reports(self, asset_id: uuid.UUID) -> int:
        return sum(
            1
            for report in self.damage_reports.values()
            if report.asset_id == asset_id and report.state is ReportState.OPEN
        )

    def current_plan(self, city_id: str, kind: str) -> _PlanRow | None:
        """The latest version not retired (PostgreSQL allows one; `publish` keeps it so)."""
        current = [
            row
            for row in self.pricing_plans
            if row.plan.city_id == city_id and row.plan.kind == kind and row.retired_at is None
        ]
        return current[-1] if current else None

    def rider_balance(self, kind: AccountKind, rider_id: Any, currency: str) -> int:
        account = self.accounts.get((kind.value, currency, str(rider_id)))
        return account.balance_minor if account else 0

    def condition(self, row: _AssetRow, lock: _LockRow, now: datetime) -> Condition:
        """What `rental.adapters.availability` reads of an asset held by `lock`."""
        asset = row.asset
        live = self.hold_on(asset.id)
        return Condition(
            in_service=asset.in_service,
            open_damage_reports=self.open_damage_reports(asset.id),
            battery_pct=lock.lock.battery_pct,
            online=lock.lock.online,
            last_seen_at=lock.lock.last_seen_at,
            in_use=self.open_rental_of_asset(asset.id) is not None,
            reserved=live is not None and live.expires_at > now,
            latch_open=lock.lock.locked is False,
        )

    def hotspot_at(self, city_id: str, lon: float, lat: float) -> uuid.UUID | None:
        """The hotspot covering the point, the first by name where hotspots overlap."""
        here = Point(lon, lat)
        covering = [
            zone
            for zone in self.zones.values()
            if zone.city_id == city_id and zone.kind is HOTSPOT_KIND and zone.geometry.covers(here)
        ]
        covering.sort(key=lambda zone: (zone.name, zone.id))
        return covering[0].id if covering else None


def _copy(value: T) -> T:
    """What a query returns is the caller's: changing it changes nothing until saved."""
    return copy.copy(value)


def _json(value: Any) -> Any:
    """A JSONB round trip: tuples come back as lists, keys as strings."""
    return json.loads(json.dumps(value))


def _path_length_m(points: list[tuple[float, float]]) -> float:
    at = datetime.min
    return sum(distance_m(Fix(at, *a), Fix(at, *b)) for a, b in pairwise(points))


# --- the unit of work ---------------------------------------------------------------------


class FakeUnitOfWork:
    """`rental.services.unit_of_work.UnitOfWork` in memory: `with uow:` snapshots the store,
    `__exit__` restores the snapshot unless `commit()` was called since. `committed` turns
    true at the first commit and stays so (cosmicpython's flag); `commits` counts them.
    `notified` holds what this unit of work notified in committed transactions."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self.active = False
        self.committed = False
        self.commits = 0
        self.notified: list[tuple[str, str]] = []
        self._pending: list[tuple[str, str]] = []
        self._snapshot: Store | None = None
        self.users = FakeUserRepository(self)
        self.credit = FakeCreditRepository(self)
        self.assets = FakeAssetRepository(self)
        self.locks = FakeLockRepository(self)
        self.cabinets = FakeCabinetRepository(self)
        self.damage_reports = FakeDamageReportRepository(self)
        self.vehicles = FakeVehicleSearch(self)
        self.rentals = FakeRentalRepository(self)
        self.lock_log = FakeLockLog(self)
        self.reservations = FakeReservationRepository(self)
        self.alerts = FakeAlertRepository(self)
        self.dead_letters = FakeDeadLetterRepository(self)
        self.ledger = FakeLedgerRepository(self)
        self.payments = FakePaymentRepository(self)
        self.disputes = FakeDisputeRepository(self)
        self.pricing_plans = FakePricingPlanRepository(self)
        self.cities = FakeCityRepository(self)
        self.zones = FakeZoneRepository(self)
        self.open_data = FakeOpenDataRepository(self)
        self.vehicle_history = FakeVehicleHistory(self)
        self.mds_clients = FakeMdsClients(self)
        self.rebalancing = FakeRebalancingRepository(self)

    def __enter__(self) -> Self:
        if self.active:
            # The SQL unit of work would drop its first transaction: a bug in the caller.
            raise RuntimeError("this unit of work is already in a transaction")
        self.active = True
        self._snapshot = copy.deepcopy(self.store)
        self._pending = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._snapshot is not None
        self.store.restore(self._snapshot)  # whatever was not committed goes
        self._snapshot = None
        self._pending = []
        self.active = False

    def commit(self) -> None:
        if not self.active:
            raise RuntimeError("commit() outside `with uow:`")
        self.store.notifications.extend(self._pending)
        self.notified.extend(self._pending)
        self._pending = []
        self._snapshot = copy.deepcopy(self.store)
        self.committed = True
        self.commits += 1

    def notify(self, channel: str, payload: str) -> None:
        """Kept for `notified` when, and only if, this transaction commits."""
        if not self.active:
            raise RuntimeError("notify() outside `with uow:`")
        self._pending.append((channel, payload))


def fake_uow_factory(store: Store) -> Callable[[], FakeUnitOfWork]:
    """A new unit of work on `store` per call, as `Platform.uow` gives one per use case."""
    return lambda: FakeUnitOfWork(store)


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _store(self) -> Store:
        # A repository used after its transaction ended fails in SQL too (closed connection).
        if not self._uow.active:
            raise RuntimeError("a repository used outside `with uow:`")
        return self._uow.store


# --- riders -------------------------------------------------------------------------------


class FakeUserRepository(_Repository):
    def add(self, user: User) -> None:
        store = self._store
        if user.id in store.users:
            raise IntegrityViolation("users_pkey")
        if any(row.user.phone == user.phone for row in store.users.values()):
            raise _as_error("users_phone_key")
        store.users[user.id] = _UserRow(_copy(user), INITIAL_SCORE, store.clock())

    def by_phone(self, phone: str) -> User | None:
        for row in self._store.users.values():
            if row.user.phone == phone:
                return _copy(row.user)
        return None

    def get(self, user_id: uuid.UUID) -> User | None:
        row = self._store.users.get(user_id)
        return _copy(row.user) if row else None


class FakeCreditRepository(_Repository):
    def record(self, user_id: uuid.UUID, reason: CreditReason, reference: str) -> int | None:
        """Apply the reason's effect once per reference; returns the new score or None."""
        store = self._store
        user = self._user(user_id)
        new_score = score_after(user.credit_score, reason)
        if any(event.reference == reference for event in store.credit_events):
            return None
        store.credit_events.append(
            _CreditEvent(
                store.next_id("credit_events"),
                user_id,
                reason.value,
                new_score - user.credit_score,
                new_score,
                reference,
                store.clock(),
            )
        )
        user.credit_score = new_score
        return new_score

    def score(self, user_id: uuid.UUID) -> int:
        return self._user(user_id).credit_score

    def history(self, user_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
        events = [event for event in self._store.credit_events if event.user_id == user_id]
        events.sort(key=lambda event: (event.created_at, event.id), reverse=True)
        return [
            {
                "reason": event.reason,
                "delta": event.delta,
                "score_after": event.score_after,
                "created_at": event.created_at,
            }
            for event in events[:limit]
        ]

    def _user(self, user_id: uuid.UUID) -> _UserRow:
        row = self._store.users.get(user_id)
        if row is None:  # scalar_one() finds no row
            raise LookupError(f"no user {user_id}")
        return row


# --- fleet --------------------------------------------------------------------------------


class FakeLockRepository(_Repository):
    def add(self, lock: Lock) -> None:
        """Only the id and the key are stored, as in SQL: a new lock is offline, unheard."""
        store = self._store
        if lock.id in store.locks:
            raise IntegrityViolation("locks_pkey")
        store.locks[lock.id] = _LockRow(Lock(lock.id, lock.signing_key), store.clock())

    def get(self, lock_id: str, *, for_update: bool = False) -> Lock | None:
        row = self._store.locks.get(lock_id)
        return _copy(row.lock) if row else None

    def record_presence(self, lock_id: str, online: bool, boot: int, at: datetime) -> bool | None:
        """Whether the lock was online before; None when the report changed nothing."""
        row = self._store.locks.get(lock_id)
        # A late Will from an earlier boot must not mark a rebooted lock offline.
        if row is None or (row.lock.boot is not None and row.lock.boot > boot):
            return None
        before = row.lock.online
        row.lock.online, row.lock.boot, row.lock.last_seen_at = online, boot, at
        return before

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
        row = self._store.locks.get(lock_id)
        if row is None:
            return None
        lock = row.lock
        before = lock.battery_pct
        lock.last_seen_at = at if lock.last_seen_at is None else max(lock.last_seen_at, at)
        if locked is not None:
            lock.locked = locked
        if battery_pct is not None:
            lock.battery_pct = battery_pct
        if lon is not None and lat is not None:
            lock.lon, lock.lat = lon, lat
        return before

    def record_latch(self, lock_id: str, locked: bool, boot: int, seq: int, at: datetime) -> None:
        """Keep the latch state of the lock's newest report, by its own (boot, seq): a
        report delivered late never overrides a newer one."""
        row = self._store.locks.get(lock_id)
        if row is None:
            return
        if row.latch_boot is not None and (row.latch_boot, row.latch_seq or 0) >= (boot, seq):
            return
        row.lock.locked = locked
        row.latch_boot, row.latch_seq, row.latch_reported_at = boot, seq, at

    def open_latches_without_rental(self) -> list[tuple[str, datetime | None]]:
        """Vehicle locks whose latest report says open while no rental is unlocking or
        riding with them: (lock id, when it reported so). Cabinets are not latches."""
        store = self._store
        vehicle_locks = {row.asset.lock_id for row in store.assets.values()} - {None}
        riding = {
            row.rental.lock_id
            for row in store.rentals.values()
            if row.rental.state in OPEN_RENTAL_STATES
        }
        return [
            (lock_id, row.latch_reported_at)
            for lock_id, row in sorted(store.locks.items())
            if lock_id in vehicle_locks and row.lock.locked is False and lock_id not in riding
        ]


class FakeCabinetRepository(_Repository):
    def add(self, cabinet: Cabinet) -> None:
        if cabinet.lock_id in self._store.cabinets:
            raise _as_error("cabinets_pkey")
        self._store.cabinets[cabinet.lock_id] = cabinet

    def get(self, lock_id: str) -> Cabinet | None:
        return self._store.cabinets.get(lock_id)


class FakeAssetRepository(_Repository):
    def add(self, asset: Asset) -> None:
        store = self._store
        if asset.lock_id is not None and asset.cabinet_id is not None:
            raise IntegrityViolation("assets_lock_or_cabinet")
        if (asset.cabinet_id is None) != (asset.slot is None):
            raise IntegrityViolation("assets_cabinet_has_slot")
        if asset.id in store.assets:
            raise IntegrityViolation("assets_pkey")
        others = [row.asset for row in store.assets.values()]
        if any(other.code == asset.code for other in others):
            raise _as_error("assets_code_key")
        if asset.lock_id is not None and any(other.lock_id == asset.lock_id for other in others):
            raise _as_error("assets_lock_id_key")
        place = (asset.cabinet_id, asset.slot)
        if asset.cabinet_id is not None and any((o.cabinet_id, o.slot) == place for o in others):
            raise _as_error("assets_one_per_slot")
        store.assets[asset.id] = _AssetRow(_copy(asset), store.clock())

    def get(self, asset_id: uuid.UUID) -> Asset | None:
        row = self._store.assets.get(asset_id)
        return _copy(row.asset) if row else None

    def uses_lock(self, lock_id: str) -> bool:
        return any(row.asset.lock_id == lock_id for row in self._store.assets.values())

    def by_code(self, code: str, *, for_update: bool = False) -> Asset | None:
        row = self._by_code(code)
        return _copy(row.asset) if row else None

    def dock(self, asset_id: uuid.UUID, cabinet_id: str | None, slot: int | None) -> None:
        """Record where an item is now; whatever the slot held before has left it."""
        store = self._store
        if cabinet_id is not None:
            for row in store.assets.values():
                held = row.asset
                if (held.cabinet_id, held.slot) == (cabinet_id, slot) and held.id != asset_id:
                    held.cabinet_id, held.slot = None, None
        docked = store.assets.get(asset_id)
        if docked is not None:
            docked.asset.cabinet_id, docked.asset.slot = cabinet_id, slot

    def rotate_public_id(self, asset_id: uuid.UUID) -> None:
        """A new public id after each trip: open data cannot link one rider's trips."""
        row = self._store.assets.get(asset_id)
        if row is not None:
            row.public_id = str(uuid.uuid4())

    def set_needs_retrieval(self, asset_id: uuid.UUID, needs_retrieval: bool) -> None:
        self.update_service(asset_id, needs_retrieval=needs_retrieval)

    def update_service(self, asset_id: uuid.UUID, **changes: bool) -> None:
        row = self._store.assets.get(asset_id)
        for name, value in changes.items():
            if name not in ("in_service", "needs_retrieval"):
                raise TypeError(f"assets has no service column {name}")
            if row is not None and name == "in_service":
                row.asset.in_service = value
            elif row is not None:
                row.needs_retrieval = value

    def for_scan(
        self,
        code: str,
        rider_id: uuid.UUID | None = None,
        idempotency_key: str | None = None,
        *,
        for_update: bool = False,
    ) -> ScanTarget | None:
        """The asset, its lock, its price and whether it is taken, in one round trip.

        `for_update` holds the asset's row until the transaction ends, so a scan and a
        reservation of the same asset cannot both succeed."""
        store = self._store
        row = self._by_code(code)
        device = store.lock_of(row.asset.device_id) if row else None
        if row is None or device is None:  # an item out of every cabinet has no device
            return None
        asset = row.asset
        plan = store.current_plan(asset.city_id, asset.kind.value)
        currency = plan.plan.tariff.currency if plan else None
        earlier = None
        if rider_id is not None and idempotency_key is not None:
            for rental_row in store.rentals.values():
                rental = rental_row.rental
                if (rental.rider_id, rental.idempotency_key) == (rider_id, idempotency_key):
                    earlier = rental.id
        held = store.hold_on(asset.id)
        riders_hold = store.hold_of(rider_id) if rider_id else None
        user = store.users.get(rider_id) if rider_id else None

        def balance(kind: AccountKind) -> int:
            return store.rider_balance(kind, rider_id, currency) if currency else 0

        return ScanTarget(
            asset=_copy(asset),
            lock=_copy(device.lock),
            plan=plan.plan if plan else None,
            taken=store.open_rental_of_asset(asset.id) is not None,
            rider_debt_minor=-balance(AccountKind.RIDER_RECEIVABLE),
            rider_deposit_minor=balance(AccountKind.RIDER_DEPOSIT),
            rider_credit_score=user.credit_score if user else 0,
            earlier_rental_id=earlier,
            open_damage_reports=store.open_damage_reports(asset.id),
            held_reservation_id=held.id if held else None,
            rider_reservation_id=riders_hold.id if riders_hold else None,
        )

    def fleet(self, now: datetime, city_id: str | None = None) -> list[dict[str, Any]]:
        """Every asset with its lock's state, its rental, holds and damage reports."""
        store = self._store
        rows = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.code):
            asset = row.asset
            if city_id is not None and asset.city_id != city_id:
                continue
            device = store.lock_of(asset.device_id)
            lock = device.lock if device else None
            rental = store.open_rental_of_asset(asset.id)
            live = store.hold_on(asset.id)
            rows.append(
                {
                    "id": asset.id,
                    "code": asset.code,
                    "kind": asset.kind.value,
                    "city_id": asset.city_id,
                    "lock_id": asset.lock_id,
                    "cabinet_id": asset.cabinet_id,
                    "slot": asset.slot,
                    "in_service": asset.in_service,
                    "needs_retrieval": row.needs_retrieval,
                    "online": lock.online if lock else None,
                    "locked": lock.locked if lock else None,
                    "battery_pct": lock.battery_pct if lock else None,
                    "last_seen_at": lock.last_seen_at if lock else None,
                    "lon": lock.lon if lock else None,
                    "lat": lock.lat if lock else None,
                    "rental_state": rental.state.value if rental else None,
                    "reserved": live is not None and live.expires_at > now,
                    "open_damage_reports": store.open_damage_reports(asset.id),
                }
            )
        return rows

    def _by_code(self, code: str) -> _AssetRow | None:
        for row in self._store.assets.values():
            if row.asset.code == code:
                return row
        return None


class FakeDamageReportRepository(_Repository):
    def add(self, report: DamageReport) -> None:
        store = self._store
        if report.id in store.damage_reports:
            raise IntegrityViolation("damage_reports_pkey")
        if report.state is ReportState.OPEN and any(
            (other.asset_id, other.reporter_id) == (report.asset_id, report.reporter_id)
            and other.state is ReportState.OPEN
            for other in store.damage_reports.values()
        ):
            raise _as_error("damage_reports_one_open_per_reporter")
        store.damage_reports[report.id] = _copy(report)

    def save(self, report: DamageReport) -> None:
        if report.id in self._store.damage_reports:
            self._store.damage_reports[report.id] = _copy(report)

    def get(self, report_id: uuid.UUID, *, for_update: bool = False) -> DamageReport | None:
        report = self._store.damage_reports.get(report_id)
        return _copy(report) if report else None

    def open_on_asset(self, asset_id: uuid.UUID) -> list[DamageReport]:
        return [
            _copy(report)
            for report in self._store.damage_reports.values()
            if report.asset_id == asset_id and report.state is ReportState.OPEN
        ]

    def listing(self, city_id: str | None, state: str | None) -> list[dict[str, Any]]:
        store = self._store
        rows: list[dict[str, Any]] = []
        for report in store.damage_reports.values():
            asset = store.assets[report.asset_id].asset
            if city_id is not None and asset.city_id != city_id:
                continue
            if state is not None and report.state.value != state:
                continue
            rows.append(
                {
                    "id": report.id,
                    "asset_id": report.asset_id,
                    "reporter_id": report.reporter_id,
                    "category": report.category.value,
                    "photo_ref": report.photo_ref,
                    "note": report.note,
                    "state": report.state.value,
                    "created_at": report.created_at,
                    "closed_at": report.closed_at,
                    "closed_by": report.closed_by,
                    "resolution": report.resolution,
                    "asset_code": asset.code,
                    "city_id": asset.city_id,
                }
            )
        rows.sort(key=lambda row: row["created_at"], reverse=True)
        return rows[:500]


class FakeVehicleSearch(_Repository):
    def nearby(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        kinds: list[str] | None,
        limit: int,
        now: datetime,
        policy: ServicePolicy,
    ) -> list[dict[str, Any]]:
        """Approximates PostGIS's distance on the spheroid by haversine."""
        store = self._store
        here = Fix(now, lon, lat)
        found = []
        for row in store.assets.values():
            asset = row.asset
            device = store.lock_of(asset.device_id)
            if device is None or device.lock.lon is None or device.lock.lat is None:
                continue
            if kinds and asset.kind.value not in kinds:
                continue
            distance = distance_m(here, Fix(now, device.lock.lon, device.lock.lat))
            if distance > radius_m:
                continue
            if unavailable_because(store.condition(row, device, now), now, policy):
                continue
            plan = store.current_plan(asset.city_id, asset.kind.value)
            found.append(
                {
                    "code": asset.code,
                    "kind": asset.kind.value,
                    "city_id": asset.city_id,
                    "lon": device.lock.lon,
                    "lat": device.lock.lat,
                    "battery_pct": device.lock.battery_pct,
                    "distance_m": distance,
                    **_plan_columns(plan, "plan__"),
                }
            )
        found.sort(key=lambda row: row["distance_m"])
        return found[:limit]


_TARIFF_FIELDS = (
    "currency",
    "unlock_fee_minor",
    "rate_per_interval_minor",
    "interval_seconds",
    "free_seconds",
    "daily_cap_minor",
    "reservation_per_minute_minor",
    "out_of_zone_fee_minor",
    "replacement_price_minor",
)


def _plan_columns(row: _PlanRow | None, prefix: str) -> dict[str, Any]:
    """A pricing_plans row as the SQL adapters select it (None everywhere for no plan)."""
    plan = row.plan if row else None
    columns: dict[str, Any] = {
        "id": plan.id if plan else None,
        "city_id": plan.city_id if plan else None,
        "kind": plan.kind if plan else None,
        **{name: getattr(plan.tariff, name) if plan else None for name in _TARIFF_FIELDS},
        "deposit_minor": plan.deposit_minor if plan else None,
        "deposit_waiver_score": plan.deposit_waiver_score if plan else None,
        "created_at": row.created_at if row else None,
        "retired_at": row.retired_at if row else None,
    }
    return {prefix + name: value for name, value in columns.items()}


# --- rides --------------------------------------------------------------------------------


class FakeRentalRepository(_Repository):
    def add(self, rental: Rental) -> None:
        store = self._store
        if rental.id in store.rentals:
            raise IntegrityViolation("rentals_pkey")
        constraint = _broken_rental_constraint(store, rental)
        if constraint is not None:
            raise _as_error(constraint)
        store.rentals[rental.id] = _RentalRow(_copy(rental))

    def save(self, rental: Rental) -> None:
        store = self._store
        row = store.rentals.get(rental.id)
        if row is None:
            return
        constraint = _broken_rental_constraint(store, rental)
        if constraint is not None:  # an UPDATE is not wrapped in conflicts_as_errors
            raise IntegrityViolation(constraint)
        row.rental = _copy(rental)

    def get(self, rental_id: uuid.UUID, *, for_update: bool = False) -> Rental | None:
        row = self._store.rentals.get(rental_id)
        return _copy(row.rental) if row else None

    def by_idempotency_key(self, rider_id: uuid.UUID, key: str) -> Rental | None:
        return self._first(lambda r: (r.rider_id, r.idempotency_key) == (rider_id, key))

    def open_for_lock(self, lock_id: str) -> Rental | None:
        """The open trip of a vehicle's lock. A cabinet's rentals are not trips: its latch
        state says nothing about the items out, so they are never found here."""
        return self._first(
            lambda r: r.lock_id == lock_id and r.slot is None and r.state in OPEN_RENTAL_STATES
        )

    def by_unlock_command(self, lock_id: str, cmd_id: str) -> Rental | None:
        """The rental a lock's answer belongs to, in whatever state (a cabinet has several
        at once; a late answer finds its rental failed)."""
        try:
            command = uuid.UUID(cmd_id)
        except ValueError:
            return None
        return self._first(lambda r: r.lock_id == lock_id and r.unlock_command_id == command)

    def riding_with_close_reported(self) -> list[Rental]:
        """Active rides of vehicle locks that already reported a close after their unlock
        (their close was processed before the unlock, or its ending failed): to repair."""
        store = self._store
        found = []
        for row in store.rentals.values():
            rental = row.rental
            if rental.state is not RentalState.ACTIVE or rental.slot is not None:
                continue
            if rental.unlock_boot is None or rental.unlock_seq is None:
                continue
            assert rental.started_at is not None
            unlock = (rental.unlock_boot, rental.unlock_seq)
            closed_event = any(
                event.lock_id == rental.lock_id
                and event.type == "locked"
                and (event.boot, event.seq) > unlock
                and event.lock_time >= rental.started_at
                for event in store.lock_events.values()
            )
            closed_fix = any(
                fix.lock_id == rental.lock_id
                and fix.locked
                and (fix.boot, fix.seq) > unlock
                and fix.recorded_at >= rental.started_at
                for fix in store.lock_positions.values()
            )
            if closed_event or closed_fix:
                found.append(_copy(rental))
        return found

    def open_for_asset(self, asset_id: uuid.UUID) -> Rental | None:
        return self._first(lambda r: r.asset_id == asset_id and r.state in OPEN_RENTAL_STATES)

    def active_with_replacement_price(self, limit: int = 500) -> list[Rental]:
        """Item rentals that can run into their replacement price."""
        found = self._all(
            lambda r: r.state is RentalState.ACTIVE and r.tariff.replacement_price_minor is not None
        )
        found.sort(key=lambda r: r.started_at or datetime.max.replace(tzinfo=UTC))
        return found[:limit]

    def for_rider(self, rider_id: uuid.UUID, limit: int, before: datetime | None) -> list[Rental]:
        found = self._all(
            lambda r: r.rider_id == rider_id and (before is None or r.requested_at < before)
        )
        found.sort(key=lambda r: r.requested_at, reverse=True)
        return found[:limit]

    def has_open(self, rider_id: uuid.UUID) -> bool:
        return (
            self._first(lambda r: r.rider_id == rider_id and r.state in OPEN_RENTAL_STATES)
            is not None
        )

    def unlocking_expired_before(self, moment: datetime) -> list[Rental]:
        return self._all(
            lambda r: (
                r.state is RentalState.UNLOCKING
                and r.unlock_expires_at is not None
                and r.unlock_expires_at < moment
            )
        )

    def set_trace(self, rental_id: uuid.UUID, wkt: str) -> float:
        """Store the path and return its length in metres; approximates the length on the
        WGS 84 spheroid by haversine on a sphere."""
        row = self._store.rentals[rental_id]  # scalar_one(): the rental must exist
        path = load_wkt(wkt)
        if not isinstance(path, LineString):
            raise IntegrityViolation("rentals.trace is a LINESTRING")
        row.trace = [(x, y) for x, y, *_ in path.coords]
        row.rental.distance_m = _path_length_m(row.trace)
        return row.rental.distance_m

    def set_end_position(self, rental_id: uuid.UUID, lon: float, lat: float) -> None:
        row = self._store.rentals.get(rental_id)
        if row is not None:
            row.end_position = (lon, lat)

    def trace_geojson(self, rental_id: uuid.UUID, tolerance_degrees: float = 0.0) -> str | None:
        """The stored path, simplified for display (the ends are always kept). Douglas-
        Peucker as ST_Simplify; coordinates to 6 decimals as ST_AsGeoJSON(..., 6)."""
        row = self._store.rentals.get(rental_id)
        if row is None or row.trace is None:
            return None
        simple = LineString(row.trace).simplify(tolerance_degrees, preserve_topology=False)
        coordinates = [[round(x, 6), round(y, 6)] for x, y, *_ in simple.coords]
        return json.dumps({"type": "LineString", "coordinates": coordinates}, separators=(",", ":"))

    def _first(self, matches: Callable[[Rental], bool]) -> Rental | None:
        found = self._all(matches)
        return found[0] if found else None

    def _all(self, matches: Callable[[Rental], bool]) -> list[Rental]:
        return [_copy(row.rental) for row in self._store.rentals.values() if matches(row.rental)]


def _broken_rental_constraint(store: Store, rental: Rental) -> str | None:
    """The first unique constraint of `rentals` that `rental` would break, in the order
    PostgreSQL checks them."""
    others = [row.rental for row in store.rentals.values() if row.rental.id != rental.id]
    if any(
        (other.rider_id, other.idempotency_key) == (rental.rider_id, rental.idempotency_key)
        for other in others
    ):
        return "rentals_rider_idempotency_key"
    if rental.state not in OPEN_RENTAL_STATES:
        return None
    still_open = [other for other in others if other.state in OPEN_RENTAL_STATES]
    if any(other.asset_id == rental.asset_id for other in still_open):
        return "rentals_one_open_per_asset"
    if any(other.rider_id == rental.rider_id for other in still_open):
        return "rentals_one_open_per_rider"
    return None


class FakeLockLog(_Repository):
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

        Raises NotFound for a lock the platform does not know."""
        store = self._store
        self._require_lock(lock_id)
        key = (lock_id, boot, seq)
        if key in store.lock_events:
            return False
        store.lock_events[key] = _EventRow(
            lock_id, boot, seq, event_type, cmd_id, _json(payload), lock_time, store.clock()
        )
        return True

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
        store = self._store
        self._require_lock(lock_id)
        key = (lock_id, boot, seq)
        if key in store.lock_positions:
            return False
        store.lock_positions[key] = _FixRow(
            lock_id, boot, seq, recorded_at, lon, lat, locked, battery_pct, accuracy_m
        )
        return True

    def fix_exists(self, lock_id: str, boot: int, seq: int) -> bool:
        """Whether telemetry already used this (boot, seq): one counter serves both channels."""
        return (lock_id, boot, seq) in self._store.lock_positions

    def event_exists(self, lock_id: str, boot: int, seq: int) -> bool:
        return (lock_id, boot, seq) in self._store.lock_events

    def first_close_after(
        self, lock_id: str, boot: int, seq: int, since: datetime
    ) -> tuple[datetime, Fix | None] | None:
        """The lock's first report of a closed latch after (boot, seq) and not before
        `since` by its clock (a `locked` event, or telemetry saying `locked`): its time, and
        its position when it had one."""
        store = self._store
        closes: list[tuple[tuple[int, int], datetime, Any, Any, float | None]] = [
            (
                (event.boot, event.seq),
                event.lock_time,
                event.payload.get("lon"),
                event.payload.get("lat"),
                None,
            )
            for event in store.lock_events.values()
            if event.lock_id == lock_id
            and event.type == "locked"
            and (event.boot, event.seq) > (boot, seq)
            and event.lock_time >= since
        ]
        closes += [
            ((fix.boot, fix.seq), fix.recorded_at, fix.lon, fix.lat, fix.accuracy_m)
            for fix in store.lock_positions.values()
            if fix.lock_id == lock_id
            and fix.locked
            and (fix.boot, fix.seq) > (boot, seq)
            and fix.recorded_at >= since
        ]
        if not closes:
            return None
        _, at, lon, lat, accuracy = min(closes, key=lambda close: close[0])
        if lon is None or lat is None:
            return at, None
        return at, Fix(at, float(lon), float(lat), accuracy)

    def record_problems(
        self,
        lock_id: str,
        channel: str,
        boot: int,
        seq: int,
        dropped: dict[str, str],
        received_at: datetime,
    ) -> None:
        store = self._store
        store.lock_report_problems.append(
            {
                "id": store.next_id("lock_report_problems"),
                "lock_id": lock_id,
                "channel": channel,
                "boot": boot,
                "seq": seq,
                "dropped": _json(dropped),
                "received_at": received_at,
            }
        )

    def problems_of(self, lock_id: str, limit: int) -> list[dict[str, Any]]:
        rows = [dict(row) for row in self._store.lock_report_problems if row["lock_id"] == lock_id]
        rows.sort(key=lambda row: row["received_at"], reverse=True)
        return rows[:limit]

    def fixes_between(self, lock_id: str, start: datetime, end: datetime) -> list[Fix]:
        fixes = [
            fix
            for fix in self._store.lock_positions.values()
            if fix.lock_id == lock_id and start <= fix.recorded_at <= end
        ]
        fixes.sort(key=lambda fix: fix.recorded_at)
        return [Fix(fix.recorded_at, fix.lon, fix.lat, fix.accuracy_m) for fix in fixes]

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` fixes and events older than `cutoff`; how many went."""
        store = self._store
        old_fixes = sorted(
            (fix.recorded_at, key)
            for key, fix in store.lock_positions.items()
            if fix.recorded_at < cutoff
        )[:batch]
        old_events = sorted(
            (event.received_at, key)
            for key, event in store.lock_events.items()
            if event.received_at < cutoff
        )[:batch]
        for _, key in old_fixes:
            del store.lock_positions[key]
        for _, key in old_events:
            del store.lock_events[key]
        return len(old_fixes) + len(old_events)

    def _require_lock(self, lock_id: str) -> None:
        # The foreign key to locks, which the adapter answers with NotFound.
        if lock_id not in self._store.locks:
            raise NotFound(f"no lock {lock_id}", "lock_not_found")


class FakeReservationRepository(_Repository):
    def add(self, reservation: Reservation) -> None:
        store = self._store
        if reservation.id in store.reservations:
            raise IntegrityViolation("reservations_pkey")
        constraint = _broken_reservation_constraint(store, reservation)
        if constraint is not None:
            raise _as_error(constraint)
        store.reservations[reservation.id] = _copy(reservation)

    def save(self, reservation: Reservation) -> None:
        store = self._store
        if reservation.id not in store.reservations:
            return
        constraint = _broken_reservation_constraint(store, reservation)
        if constraint is not None:
            raise IntegrityViolation(constraint)
        store.reservations[reservation.id] = _copy(reservation)

    def get(self, reservation_id: uuid.UUID, *, for_update: bool = False) -> Reservation | None:
        reservation = self._store.reservations.get(reservation_id)
        return _copy(reservation) if reservation else None

    def by_idempotency_key(self, rider_id: uuid.UUID, key: str) -> Reservation | None:
        for reservation in self._store.reservations.values():
            if (reservation.rider_id, reservation.idempotency_key) == (rider_id, key):
                return _copy(reservation)
        return None

    def held_by_rider(self, rider_id: uuid.UUID) -> Reservation | None:
        held = self._store.hold_of(rider_id)
        return _copy(held) if held else None

    def expired_before(self, moment: datetime, limit: int = 500) -> list[Reservation]:
        due = [
            _copy(reservation)
            for reservation in self._store.reservations.values()
            if reservation.state is ReservationState.HELD and reservation.expires_at <= moment
        ]
        due.sort(key=lambda reservation: reservation.expires_at)
        return due[:limit]


def _broken_reservation_constraint(store: Store, reservation: Reservation) -> str | None:
    others = [other for other in store.reservations.values() if other.id != reservation.id]
    if any(
        (other.rider_id, other.idempotency_key)
        == (reservation.rider_id, reservation.idempotency_key)
        for other in others
    ):
        return "reservations_rider_idempotency_key"
    if reservation.state is not ReservationState.HELD:
        return None
    held = [other for other in others if other.state is ReservationState.HELD]
    if any(other.rider_id == reservation.rider_id for other in held):
        return "reservations_one_per_rider"
    if any(other.asset_id == reservation.asset_id for other in held):
        return "reservations_one_per_asset"
    return None


MAX_ALERTS = 1000


class FakeAlertRepository(_Repository):
    def open(
        self,
        kind: AlertKind,
        lock_id: str,
        detail: str,
        at: datetime,
        asset_id: uuid.UUID | None = None,
    ) -> bool:
        """Open an alert unless one of this kind is open for this lock (a vehicle's lock,
        or a cabinet with `asset_id` naming the item); True if opened."""
        store = self._store
        if any(
            (alert.kind, alert.lock_id) == (kind, lock_id) and alert.resolved_at is None
            for alert in store.alerts.values()
        ):
            return False
        asset = next(
            (
                row.asset
                for row in store.assets.values()
                if (
                    row.asset.id == asset_id
                    if asset_id is not None
                    else row.asset.lock_id == lock_id
                )
            ),
            None,
        )
        alert_id = store.next_id("alerts")
        store.alerts[alert_id] = Alert(
            id=alert_id,
            kind=kind,
            lock_id=lock_id,
            asset_id=asset.id if asset else None,
            asset_code=None,  # joined when listed
            city_id=asset.city_id if asset else None,
            detail=detail,
            opened_at=at,
            resolved_at=None,
        )
        return True

    def resolve(self, kind: AlertKind, lock_id: str, at: datetime) -> None:
        self._resolve(lambda alert: alert.kind is kind and alert.lock_id == lock_id, at)

    def resolve_all_but(self, kind: AlertKind, still_open: set[str], at: datetime) -> int:
        """Resolve this kind's open alerts whose lock is not in `still_open`; how many."""
        return self._resolve(
            lambda alert: alert.kind is kind and alert.lock_id not in still_open, at
        )

    def resolve_misplaced_items_moved(self, at: datetime) -> int:
        """Misplaced-item alerts whose item is no longer in a cabinet of another kind."""
        store = self._store

        def moved(alert: Alert) -> bool:
            row = store.assets.get(alert.asset_id) if alert.asset_id else None
            cabinet = store.cabinets.get(row.asset.cabinet_id or "") if row else None
            still = row is not None and cabinet is not None and cabinet.kind is not row.asset.kind
            return alert.kind is AlertKind.MISPLACED_ITEM and not still

        return self._resolve(moved, at)

    def _resolve(self, matches: Callable[[Alert], bool], at: datetime) -> int:
        alerts = self._store.alerts
        due = [key for key, alert in alerts.items() if alert.resolved_at is None and matches(alert)]
        for key in due:
            alerts[key] = replace(alerts[key], resolved_at=at)
        return len(due)

    def list(self, city_id: str | None, *, include_resolved: bool = False) -> list[Alert]:
        store = self._store
        found = []
        for alert in store.alerts.values():
            if city_id is not None and alert.city_id != city_id:
                continue
            if not include_resolved and alert.resolved_at is not None:
                continue
            row = store.assets.get(alert.asset_id) if alert.asset_id else None
            found.append(replace(alert, asset_code=row.asset.code if row else None))
        found.sort(key=lambda alert: alert.opened_at, reverse=True)
        return found[:MAX_ALERTS]


class FakeDeadLetterRepository(_Repository):
    def add(self, topic: str, payload: bytes, reason: str, received_at: datetime) -> int:
        """Keep a message; the same message still open (a lock's resend) is kept once."""
        store = self._store
        for letter in store.dead_letters.values():
            if (letter.topic, letter.payload) == (topic, payload) and letter.replayed_at is None:
                return letter.id
        letter_id = store.next_id("dead_letters")
        store.dead_letters[letter_id] = DeadLetter(letter_id, topic, payload, reason, received_at)
        return letter_id

    def get(self, letter_id: int, *, for_update: bool = False) -> DeadLetter | None:
        return self._store.dead_letters.get(letter_id)

    def count_open(self) -> int:
        return sum(1 for letter in self._store.dead_letters.values() if letter.replayed_at is None)

    def mark_replayed(self, letter_id: int, at: datetime, outcome: str) -> None:
        letters = self._store.dead_letters
        if letter_id in letters:
            letters[letter_id] = replace(letters[letter_id], replayed_at=at, replay_outcome=outcome)

    def note_failed_replay(self, letter_id: int, reason: str) -> None:
        letters = self._store.dead_letters
        if letter_id in letters:
            outcome = f"refused again: {reason}"
            letters[letter_id] = replace(letters[letter_id], replay_outcome=outcome)

    def list(
        self, *, open_only: bool, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        found = [
            letter
            for letter_id, letter in sorted(self._store.dead_letters.items(), reverse=True)
            if (not open_only or letter.replayed_at is None)
            and (before_id is None or letter_id < before_id)
        ]
        return found[:limit]


# --- money --------------------------------------------------------------------------------


class FakeLedgerRepository(_Repository):
    """Balanced transactions booked once per reference. Rider accounts keep a running
    balance updated with their postings; the platform's are summed from postings."""

    def post(self, kind: str, reference: str, entries: list[Posting]) -> bool:
        """Book the postings once per reference; False if that reference was booked before."""
        check_balanced(entries)
        store = self._store
        if reference in store.transactions:
            return False
        transaction = _Transaction(uuid.uuid4(), kind, reference, store.clock())
        store.transactions[reference] = transaction
        for entry in entries:
            account = self._account(entry.account)
            if entry.account.owner_id is not None:
                account.balance_minor += entry.amount_minor
            store.postings.append(
                _PostingRow(store.next_id("postings"), transaction, account.id, entry.amount_minor)
            )
        return True

    def balance(self, ref: AccountRef, *, for_update: bool = False) -> int:
        """An account's balance; `for_update` holds a rider account until the transaction
        ends (and, as in SQL, opens it at zero when it does not exist yet)."""
        if ref.owner_id is None:
            return self.derived_balance(ref)
        if for_update:
            self._account(ref)
        account = self._store.accounts.get(_account_key(ref))
        return account.balance_minor if account else 0

    def derived_balance(self, ref: AccountRef) -> int:
        account = self._store.accounts.get(_account_key(ref))
        if account is None:
            return 0
        return sum(p.amount_minor for p in self._store.postings if p.account_id == account.id)

    def owner_balances(self, owner_id: str) -> dict[tuple[str, str], int]:
        """(kind, currency) -> balance of every account of one rider."""
        return {
            (account.kind, account.currency): account.balance_minor
            for account in self._store.accounts.values()
            if account.owner_id == owner_id
        }

    def owner_postings(
        self, owner_id: str, limit: int, before: datetime | None
    ) -> list[dict[str, Any]]:
        """One rider's postings, newest first, with the transaction they belong to."""
        accounts = {a.id: a for a in self._store.accounts.values() if a.owner_id == owner_id}
        found = [
            posting
            for posting in self._store.postings
            if posting.account_id in accounts
            and (before is None or posting.transaction.created_at < before)
        ]
        found.sort(key=lambda posting: (posting.transaction.created_at, posting.id), reverse=True)
        return [
            {
                "transaction_id": posting.transaction.id,
                "transaction_kind": posting.transaction.kind,
                "reference": posting.transaction.reference,
                "created_at": posting.transaction.created_at,
                "account": accounts[posting.account_id].kind,
                "currency": accounts[posting.account_id].currency,
                "amount_minor": posting.amount_minor,
            }
            for posting in found[:limit]
        ]

    def postings_of(self, reference: str) -> list[tuple[str, int]]:
        """(account kind, amount) of the transaction booked under `reference`."""
        kinds = {account.id: account.kind for account in self._store.accounts.values()}
        return [
            (kinds[posting.account_id], posting.amount_minor)
            for posting in self._store.postings
            if posting.transaction.reference == reference
        ]

    def totals(self) -> list[dict[str, Any]]:
        """Sum of postings per currency and account kind, for the books report."""
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for posting, account in self._with_accounts():
            sums[account.currency, account.kind] += posting.amount_minor
        return [
            {"currency": currency, "kind": kind, "total_minor": total}
            for (currency, kind), total in sorted(sums.items())
        ]

    def accounts_out_of_step(self) -> int:
        """Rider accounts whose running balance differs from the sum of their postings."""
        sums: dict[int, int] = defaultdict(int)
        for posting in self._store.postings:
            sums[posting.account_id] += posting.amount_minor
        return sum(
            1
            for account in self._store.accounts.values()
            if account.owner_id != "" and account.balance_minor != sums[account.id]
        )

    def unbalanced_currencies(self) -> dict[str, int]:
        """Per currency, the sum of all postings; empty when the books balance."""
        sums: dict[str, int] = defaultdict(int)
        for posting, account in self._with_accounts():
            sums[account.currency] += posting.amount_minor
        return {currency: total for currency, total in sums.items() if total != 0}

    def _with_accounts(self) -> Iterable[tuple[_PostingRow, _Account]]:
        by_id = {account.id: account for account in self._store.accounts.values()}
        return ((posting, by_id[posting.account_id]) for posting in self._store.postings)

    def _account(self, ref: AccountRef) -> _Account:
        store = self._store
        key = _account_key(ref)
        if key not in store.accounts:
            store.accounts[key] = _Account(store.next_id("accounts"), *key)
        return store.accounts[key]


def _account_key(ref: AccountRef) -> tuple[str, str, str]:
    return (ref.kind.value, ref.currency, ref.owner_id or "")


class FakePaymentRepository(_Repository):
    def add_order(self, order: PaymentOrder) -> None:
        """Any broken constraint is a repeated request, as in the SQL adapter."""
        store = self._store
        if (
            order.id in store.payment_orders
            or order.amount_minor <= 0
            or not 0 <= order.refunded_minor <= order.amount_minor
            or any(
                (other.rider_id, other.idempotency_key) == (order.rider_id, order.idempotency_key)
                for other in store.payment_orders.values()
            )
        ):
            raise DuplicateRequest("request already received", "duplicate_request")
        store.payment_orders[order.id] = replace(order, created_at=store.clock())

    def save_order(self, order: PaymentOrder) -> None:
        """Only what can change: the state, the gateway's trade, payment and refunds."""
        stored = self._store.payment_orders.get(order.id)
        if stored is None:
            return
        if not 0 <= order.refunded_minor <= stored.amount_minor:
            raise IntegrityViolation("payment_orders_refundable")
        self._store.payment_orders[order.id] = replace(
            stored,
            state=order.state,
            trade_no=order.trade_no,
            pay_url=order.pay_url,
            paid_at=order.paid_at,
            refunded_minor=order.refunded_minor,
        )

    def order(self, order_id: uuid.UUID, *, for_update: bool = False) -> PaymentOrder | None:
        order = self._store.payment_orders.get(order_id)
        return _copy(order) if order else None

    def order_by_key(self, rider_id: uuid.UUID, key: str) -> PaymentOrder | None:
        for order in self._store.payment_orders.values():
            if (order.rider_id, order.idempotency_key) == (rider_id, key):
                return _copy(order)
        return None

    def refundable_deposits(self, rider_id: uuid.UUID, currency: str) -> list[PaymentOrder]:
        """Paid deposit orders with money left to refund, oldest first, locked."""
        found = [
            _copy(order)
            for order in self._store.payment_orders.values()
            if order.rider_id == rider_id
            and order.purpose is Purpose.DEPOSIT
            and order.currency == currency
            and order.state is OrderState.PAID
            and order.refunded_minor < order.amount_minor
        ]
        found.sort(key=lambda order: order.paid_at or datetime.max.replace(tzinfo=UTC))
        return found

    def add_refund(self, refund: Refund) -> None:
        store = self._store
        if refund.id in store.refunds or refund.amount_minor <= 0:
            raise IntegrityViolation("refunds_pkey or refunds_positive")
        if any(other.request_key == refund.request_key for other in store.refunds.values()):
            raise IntegrityViolation("refunds_request_key_key")
        store.refunds[refund.id] = _copy(refund)

    def refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> Refund | None:
        refund = self._store.refunds.get(refund_id)
        return _copy(refund) if refund else None

    def refunds_for_request(self, rider_id: uuid.UUID, key: str) -> list[Refund]:
        return [
            _copy(refund)
            for refund in self._store.refunds.values()
            if refund.rider_id == rider_id and refund.request_key.startswith(f"{key}:")
        ]

    def settle_refund(self, refund: Refund) -> None:
        stored = self._store.refunds.get(refund.id)
        if stored is not None:
            self._store.refunds[refund.id] = replace(stored, state=refund.state)


class FakeDisputeRepository(_Repository):
    def add(self, dispute: Dispute) -> None:
        store = self._store
        if dispute.id in store.disputes:
            raise IntegrityViolation("disputes_pkey")
        if dispute.state is DisputeState.OPEN and any(
            other.rental_id == dispute.rental_id and other.state is DisputeState.OPEN
            for other in store.disputes.values()
        ):
            raise _as_error("disputes_one_open_per_rental")
        store.disputes[dispute.id] = replace(dispute, created_at=store.clock())

    def get(self, dispute_id: uuid.UUID, *, for_update: bool = False) -> Dispute | None:
        dispute = self._store.disputes.get(dispute_id)
        return _copy(dispute) if dispute else None

    def save(self, dispute: Dispute) -> None:
        stored = self._store.disputes.get(dispute.id)
        if stored is not None:
            self._store.disputes[dispute.id] = replace(
                stored,
                state=dispute.state,
                refund_minor=dispute.refund_minor,
                note=dispute.note,
                resolved_at=dispute.resolved_at,
            )

    def in_state(self, state: DisputeState, limit: int = 100) -> list[Dispute]:
        found = [d for d in self._store.disputes.values() if d.state is state]
        return [_copy(d) for d in _by_creation(found)[:limit]]

    def for_rental(self, rental_id: uuid.UUID) -> list[Dispute]:
        found = [d for d in self._store.disputes.values() if d.rental_id == rental_id]
        return [_copy(d) for d in _by_creation(found)]

    def refunded_for_rental(self, rental_id: uuid.UUID) -> int:
        return sum(
            d.refund_minor for d in self._store.disputes.values() if d.rental_id == rental_id
        )


def _by_creation(disputes: list[Dispute]) -> list[Dispute]:
    # Stable: disputes created at the same moment keep the order they were added in.
    return sorted(disputes, key=lambda d: d.created_at or datetime.min.replace(tzinfo=UTC))


class FakePricingPlanRepository(_Repository):
    def publish(
        self,
        city_id: str,
        kind: str,
        tariff: Tariff,
        deposit_minor: int = 0,
        deposit_waiver_score: int | None = None,
    ) -> PricingPlan:
        """Make `tariff` the current price; rentals already priced keep theirs."""
        store = self._store
        now = store.clock()
        for row in store.pricing_plans:
            if (row.plan.city_id, row.plan.kind) == (city_id, kind) and row.retired_at is None:
                row.retired_at = now
        plan = PricingPlan(uuid.uuid4(), city_id, kind, tariff, deposit_minor, deposit_waiver_score)
        store.pricing_plans.append(_PlanRow(plan, now))
        return plan

    def current(self, city_id: str, kind: str | None = None) -> list[PricingPlan]:
        store = self._store
        kinds = sorted(
            {row.plan.kind for row in store.pricing_plans if row.plan.city_id == city_id}
        )
        current = [store.current_plan(city_id, each) for each in kinds if kind in (None, each)]
        return [row.plan for row in current if row is not None]


# --- city ---------------------------------------------------------------------------------


class FakeCityRepository(_Repository):
    def add(
        self, city_id: str, name: str, currency: str, timezone: str, lon: float, lat: float
    ) -> None:
        if city_id in self._store.cities:
            raise IntegrityViolation("cities_pkey")
        self._store.cities[city_id] = _City(city_id, name, currency, timezone, lon, lat)

    def currency_of(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.currency if city else None


class FakeZoneRepository(_Repository):
    """Coverage is planar in degrees, as PostGIS's ST_Covers on `geometry`: the same answer."""

    def replace(self, city_id: str, new_zones: list[Zone]) -> int:
        """The city's zones become exactly these (an import is the whole map, not a patch)."""
        store = self._store
        gone = {zone_id for zone_id, zone in store.zones.items() if zone.city_id == city_id}
        for zone_id in gone:
            del store.zones[zone_id]
        for event in store.speeding_events:  # ON DELETE SET NULL
            if event.zone_id in gone:
                event.zone_id = None
        for zone in new_zones:
            polygon = shape(zone.geometry)
            multi = polygon if isinstance(polygon, MultiPolygon) else MultiPolygon([polygon])
            zone_id = uuid.uuid4()
            store.zones[zone_id] = _ZoneRow(
                zone_id, city_id, zone.kind, zone.name, zone.max_speed_kph, multi, store.clock()
            )
        return len(new_zones)

    def as_features(self, city_id: str) -> list[dict[str, Any]]:
        zones = sorted(self._of_city(city_id), key=lambda zone: (zone.kind.value, zone.name))
        return [
            {
                "type": "Feature",
                "id": str(zone.id),
                "geometry": _json(mapping(zone.geometry)),
                "properties": {
                    "kind": zone.kind.value,
                    "name": zone.name,
                    **({"max_speed_kph": zone.max_speed_kph} if zone.max_speed_kph else {}),
                },
            }
            for zone in zones
        ]

    def at_position(self, city_id: str, lon: float, lat: float) -> tuple[bool, set[ZoneKind]]:
        """Whether the point is inside the service area (true where the city has none), and
        the kinds of the other zones that cover it. Boundaries count as inside."""
        here = Point(lon, lat)
        zones = self._of_city(city_id)
        areas = [zone for zone in zones if zone.kind is ZoneKind.SERVICE_AREA]
        inside = not areas or any(zone.geometry.covers(here) for zone in areas)
        kinds: set[ZoneKind] = {
            zone.kind
            for zone in zones
            if zone.kind is not ZoneKind.SERVICE_AREA and zone.geometry.covers(here)
        }
        return inside, kinds

    def record_speeding(self, rental_id: uuid.UUID, city_id: str, fixes: list[SpeedSample]) -> int:
        """Store the fixes that went faster than a slow zone covering them allows, and those
        inside a no-ride zone (a limit of 0)."""
        store = self._store
        zones = self._of_city(city_id)
        recorded = 0
        for moment in sorted({fix.recorded_at for fix in fixes}):
            fix = next(fix for fix in fixes if fix.recorded_at == moment)  # DISTINCT ON
            here = Point(fix.lon, fix.lat)
            broken = [
                zone
                for zone in zones
                if zone.geometry.covers(here)
                and (
                    (zone.kind is ZoneKind.SLOW and fix.speed_kph > (zone.max_speed_kph or 0.0))
                    or zone.kind is ZoneKind.NO_RIDE
                )
            ]
            if not broken:
                continue
            zone = min(broken, key=lambda zone: zone.max_speed_kph or 0.0)
            if any(
                (event.rental_id, event.recorded_at) == (rental_id, moment)
                for event in store.speeding_events
            ):
                raise IntegrityViolation("speeding_once_per_fix")
            store.speeding_events.append(
                _SpeedingRow(
                    store.next_id("speeding_events"),
                    rental_id,
                    zone.id,
                    zone.name,
                    moment,
                    fix.speed_kph,
                    zone.max_speed_kph or 0.0,
                    fix.lon,
                    fix.lat,
                )
            )
            recorded += 1
        return recorded

    def speeding_in(self, city_id: str, since: datetime) -> list[dict[str, Any]]:
        store = self._store
        rows: list[dict[str, Any]] = []
        for event in store.speeding_events:
            rental = store.rentals.get(event.rental_id)
            asset = store.assets.get(rental.rental.asset_id) if rental else None
            if asset is None or asset.asset.city_id != city_id or event.recorded_at < since:
                continue
            rows.append(
                {
                    "rental_id": event.rental_id,
                    "asset_code": asset.asset.code,
                    "zone_name": event.zone_name,
                    "recorded_at": event.recorded_at,
                    "speed_kph": event.speed_kph,
                    "max_speed_kph": event.max_speed_kph,
                    "lon": event.lon,
                    "lat": event.lat,
                }
            )
        rows.sort(key=lambda row: row["recorded_at"], reverse=True)
        return rows[:500]

    def _of_city(self, city_id: str) -> list[_ZoneRow]:
        return [zone for zone in self._store.zones.values() if zone.city_id == city_id]


# --- open data ----------------------------------------------------------------------------


class FakeOpenDataRepository(_Repository):
    def city(self, city_id: str) -> dict[str, Any] | None:
        city = self._store.cities.get(city_id)
        if city is None:
            return None
        return {
            "id": city.id,
            "name": city.name,
            "timezone": city.timezone,
            "currency": city.currency,
        }

    def city_ids(self) -> list[str]:
        return sorted(self._store.cities)

    def vehicles_json(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> str:
        """GBFS `vehicles` as a JSON array. Approximates PostgreSQL's rendering: the same
        objects and values, but numbers as Python writes them (31.23, not 31.230000) and
        vehicles in id order (json_agg promises none)."""
        store = self._store
        vehicles = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.id):
            asset = row.asset
            device = store.lock_of(asset.device_id)
            if asset.city_id != city_id or asset.kind.value not in kinds or device is None:
                continue
            lock = device.lock
            if lock.lon is None or lock.lat is None or store.open_rental_of_asset(asset.id):
                continue
            condition = replace(store.condition(row, device, now), in_use=False, reserved=False)
            live = store.hold_on(asset.id)
            vehicle: dict[str, Any] = {
                "vehicle_id": row.public_id,
                "lat": round(lock.lat, 6),
                "lon": round(lock.lon, 6),
                "is_reserved": live is not None and live.expires_at > now,
                "is_disabled": bool(unavailable_because(condition, now, policy)),
                "vehicle_type_id": asset.kind.value,
                "pricing_plan_id": asset.kind.value,
                "last_reported": (
                    lock.last_seen_at.replace(microsecond=0).isoformat()
                    if lock.last_seen_at
                    else None
                ),
            }
            if asset.kind is AssetKind.EBIKE and lock.battery_pct is not None:
                charge = lock.battery_pct / 100.0
                vehicle["current_fuel_percent"] = charge
                vehicle["current_range_meters"] = charge * EBIKE_RANGE_METERS
            vehicles.append(vehicle)
        return json.dumps(vehicles)


class FakeVehicleHistory(_Repository):
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
        store = self._store
        for row in store.assets.values():
            asset = row.asset
            named = asset.id == asset_id if asset_id is not None else asset.lock_id == lock_id
            if not named or asset.kind not in VEHICLE_KINDS:
                continue
            device = store.lock_of(asset.lock_id)
            lock = device.lock if device else None
            where = (lon, lat) if lon is not None and lat is not None else None
            if where is None and lock is not None and lock.lon is not None:
                where = (lock.lon, lock.lat) if lock.lat is not None else None
            if where is None:
                continue
            store.vehicle_events.append(
                _VehicleEventRow(
                    uuid.uuid4(),
                    asset.id,
                    asset.city_id,
                    kind.value,
                    at,
                    store.clock(),
                    *where,
                    lock.battery_pct if lock else None,
                    rental_id,
                )
            )

    def vehicles(
        self, city_id: str, after: uuid.UUID | None, limit: int, device_id: uuid.UUID | None
    ) -> list[dict[str, Any]]:
        return [
            {"id": asset.id, "code": asset.code, "kind": asset.kind.value}
            for asset in self._vehicle_page(city_id, after, limit, device_id, located=False)
        ]

    def statuses(
        self,
        city_id: str,
        after: uuid.UUID | None,
        limit: int,
        device_id: uuid.UUID | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Each vehicle with what is true now, its last logged event (`last_event`) and its
        lock's last fix (`last_fix`), each None when there is none."""
        store = self._store
        rows = []
        for asset in self._vehicle_page(city_id, after, limit, device_id, located=True):
            lock = store.locks[asset.lock_id or ""].lock
            active = next(
                (
                    row.rental.id
                    for row in store.rentals.values()
                    if row.rental.asset_id == asset.id and row.rental.state is RentalState.ACTIVE
                ),
                None,
            )
            events = [event for event in store.vehicle_events if event.asset_id == asset.id]
            last_event = max(events, key=lambda e: (e.at, e.recorded_at), default=None)
            fixes = [fix for fix in store.lock_positions.values() if fix.lock_id == asset.lock_id]
            last_fix = max(fixes, key=lambda fix: fix.recorded_at, default=None)
            live = store.hold_on(asset.id)
            rows.append(
                {
                    "id": asset.id,
                    "lock_id": asset.lock_id,
                    "in_service": asset.in_service,
                    "online": lock.online,
                    "last_seen_at": lock.last_seen_at,
                    "battery_pct": lock.battery_pct,
                    "lon": lock.lon,
                    "lat": lock.lat,
                    "rental_id": active,
                    "reserved": live is not None and live.expires_at > now,
                    "damaged": store.open_damage_reports(asset.id) > 0,
                    "last_event": _event_row(last_event) if last_event else None,
                    "last_fix": _fix_row(last_fix) if last_fix else None,
                }
            )
        return rows

    def events(
        self,
        city_id: str,
        start: datetime,
        end: datetime,
        after: uuid.UUID | None,
        limit: int | None,
    ) -> list[dict[str, Any]]:
        """Events with start <= at < end, oldest first, after the event `after`."""
        events = self._store.vehicle_events
        found = [e for e in events if e.city_id == city_id and start <= e.at < end]
        if after is not None:
            cursor = next((e for e in events if e.id == after), None)
            if cursor is None:  # compared with NULL: nothing
                return []
            found = [e for e in found if (e.at, e.id) > (cursor.at, cursor.id)]
        found.sort(key=lambda e: (e.at, e.id))
        return [_event_row(e) for e in found[:limit]]

    def trips(self, city_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Rides of the city's vehicles that ended in [start, end)."""
        store = self._store
        rows = []
        for row in store.rentals.values():
            rental = row.rental
            if not self._of_vehicle_in(city_id, rental.asset_id) or row.end_position is None:
                continue
            if rental.state is not RentalState.ENDED or rental.ended_at is None:
                continue
            if not start <= rental.ended_at < end:
                continue
            begin = row.trace[0] if row.trace else row.end_position
            rows.append(
                {
                    "id": rental.id,
                    "asset_id": rental.asset_id,
                    "started_at": rental.started_at,
                    "ended_at": rental.ended_at,
                    "distance_m": rental.distance_m,
                    "fare_minor": rental.fare_minor,
                    "parking": rental.parking.value if rental.parking else None,
                    "currency": rental.tariff.currency,
                    "start_lon": begin[0],
                    "start_lat": begin[1],
                    "end_lon": row.end_position[0],
                    "end_lat": row.end_position[1],
                }
            )
        rows.sort(key=lambda row: (row["ended_at"], row["id"]))
        return rows

    def telemetry(self, city_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every fix of the city's vehicles in [start, end), with the ride it belongs to."""
        store = self._store
        by_lock = {
            row.asset.lock_id: row.asset
            for row in store.assets.values()
            if row.asset.lock_id is not None
            and row.asset.city_id == city_id
            and row.asset.kind in VEHICLE_KINDS
        }
        rows = []
        for fix in store.lock_positions.values():
            asset = by_lock.get(fix.lock_id)
            if asset is None or not start <= fix.recorded_at < end:
                continue
            # The lock's last ride begun by then, if not yet over.
            rides = [
                row.rental
                for row in store.rentals.values()
                if row.rental.lock_id == fix.lock_id
                and row.rental.started_at is not None
                and row.rental.started_at <= fix.recorded_at
                and row.rental.state in (RentalState.ACTIVE, RentalState.ENDED)
            ]
            ride = max(rides, key=lambda r: r.started_at or fix.recorded_at, default=None)
            during = ride is not None and (
                ride.ended_at is None or ride.ended_at >= fix.recorded_at
            )
            rows.append(
                {
                    "asset_id": asset.id,
                    **_fix_row(fix),
                    "rental_id": ride.id if ride is not None and during else None,
                }
            )
        rows.sort(key=lambda row: (row["recorded_at"], row["lock_id"]))
        return rows

    def trip_counts(
        self, city_id: str, start: datetime, end: datetime, types: Mapping[str, str]
    ) -> dict[str, tuple[int, int]]:
        """Per vehicle type (our kinds mapped by `types`): rides started in [start, end)
        and the distinct riders who took them."""
        store = self._store
        trips: dict[str, int] = defaultdict(int)
        riders: dict[str, set[uuid.UUID]] = defaultdict(set)
        for row in store.rentals.values():
            rental = row.rental
            asset = store.assets.get(rental.asset_id)
            if asset is None or asset.asset.city_id != city_id:
                continue
            if asset.asset.kind.value not in types:
                continue
            if rental.state not in (RentalState.ACTIVE, RentalState.ENDED):
                continue
            if rental.started_at is None or not start <= rental.started_at < end:
                continue
            name = types[asset.asset.kind.value]
            trips[name] += 1
            riders[name].add(rental.rider_id)
        return {name: (count, len(riders[name])) for name, count in trips.items()}

    def _of_vehicle_in(self, city_id: str, asset_id: uuid.UUID) -> bool:
        row = self._store.assets.get(asset_id)
        return row is not None and row.asset.city_id == city_id and row.asset.kind in VEHICLE_KINDS

    def _vehicle_page(
        self,
        city_id: str,
        after: uuid.UUID | None,
        limit: int,
        device_id: uuid.UUID | None,
        *,
        located: bool,
    ) -> list[Asset]:
        """One page of vehicles in id order (PostgreSQL orders UUIDs as Python does), after
        the cursor `after`, or just one; `located`: only those whose lock has a position."""
        store = self._store
        page = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.id):
            asset = row.asset
            if asset.city_id != city_id or asset.kind not in VEHICLE_KINDS:
                continue
            if (after is not None and asset.id <= after) or (
                device_id is not None and asset.id != device_id
            ):
                continue
            if located:
                device = store.lock_of(asset.lock_id)
                if device is None or device.lock.lon is None or device.lock.lat is None:
                    continue
            page.append(asset)
        return page[:limit]


def _event_row(event: _VehicleEventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "asset_id": event.asset_id,
        "kind": event.kind,
        "at": event.at,
        "recorded_at": event.recorded_at,
        "lon": event.lon,
        "lat": event.lat,
        "battery_pct": event.battery_pct,
        "rental_id": event.rental_id,
    }


def _fix_row(fix: _FixRow) -> dict[str, Any]:
    return {
        "lock_id": fix.lock_id,
        "boot": fix.boot,
        "seq": fix.seq,
        "recorded_at": fix.recorded_at,
        "lon": fix.lon,
        "lat": fix.lat,
        "accuracy_m": fix.accuracy_m,
        "battery_pct": fix.battery_pct,
    }


class FakeMdsClients(_Repository):
    def add(self, client_id: uuid.UUID, city_id: str, name: str) -> None:
        store = self._store
        if client_id in store.mds_clients:
            raise IntegrityViolation("mds_clients_pkey")
        store.mds_clients[client_id] = {
            "id": client_id,
            "city_id": city_id,
            "name": name,
            "created_at": store.clock(),
            "revoked_at": None,
        }

    def city_of(self, client_id: uuid.UUID) -> str | None:
        """The city of a client whose access stands; None once revoked."""
        client = self._store.mds_clients.get(client_id)
        if client is None or client["revoked_at"] is not None:
            return None
        city: str = client["city_id"]
        return city

    def revoke(self, client_id: uuid.UUID, at: datetime) -> bool:
        client = self._store.mds_clients.get(client_id)
        if client is None or client["revoked_at"] is not None:
            return False
        client["revoked_at"] = at
        return True

    def listing(self) -> list[dict[str, Any]]:
        clients = sorted(self._store.mds_clients.values(), key=lambda c: c["created_at"])
        return [dict(client) for client in clients]


# --- rebalancing --------------------------------------------------------------------------


class FakeRebalancingRepository(_Repository):
    """The city's night read from the other tables, the trucks, plans and stops as records.
    Approximates ST_PointOnSurface by shapely's point_on_surface (another point inside the
    same zone). A plan's summary comes back as JSONB gives it (tuples as lists).

    `run_started_meanwhile` names a city whose run another process opens between a use
    case's look (`running_plan`) and its insert (`add_plan`): the insert then meets the
    unique index on running plans, as in PostgreSQL."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        super().__init__(uow)
        self.run_started_meanwhile: str | None = None

    # --- the city's night

    def hotspots(self, city_id: str) -> list[Hotspot]:
        """The operator's parking zones, each with a point inside it for trucks to stop."""
        zones = [
            zone
            for zone in self._store.zones.values()
            if zone.city_id == city_id and zone.kind is HOTSPOT_KIND
        ]
        zones.sort(key=lambda zone: (zone.name, zone.id))
        found = []
        for zone in zones:
            inside = zone.geometry.point_on_surface()
            found.append(Hotspot(str(zone.id), zone.name, (inside.x, inside.y)))
        return found

    def parked_bikes(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[ParkedBike]:
        """Bikes riders could take now, where they are, and the hotspot they stand in."""
        store = self._store
        found = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.id):
            asset = row.asset
            device = store.lock_of(asset.device_id)
            if asset.city_id != city_id or asset.kind not in VEHICLE_KINDS or device is None:
                continue
            lon, lat = device.lock.lon, device.lock.lat
            if lon is None or lat is None:
                continue
            if unavailable_because(store.condition(row, device, now), now, policy):
                continue
            hotspot = store.hotspot_at(city_id, lon, lat)
            found.append(
                ParkedBike(
                    str(asset.id),
                    (lon, lat),
                    str(hotspot) if hotspot is not None else None,
                    device.lock.battery_pct,
                )
            )
        return found

    def morning_starts(
        self, city_id: str, since: date, hours: tuple[int, int], cell_degrees: float
    ) -> tuple[StartsByZone, StartsByCell]:
        """Trips that started in the morning hours (local time) since `since`, per day:
        per hotspot, and per grid cell for those that started outside every hotspot."""
        store = self._store
        if city_id not in store.cities:  # local time of no time zone: NULL, no trips
            return {}, {}
        timezone = ZoneInfo(store.cities[city_id].timezone)
        by_hotspot: StartsByZone = defaultdict(dict)
        by_cell: StartsByCell = defaultdict(dict)
        for row in store.rentals.values():
            rental = row.rental
            asset = store.assets.get(rental.asset_id)
            if asset is None or asset.asset.city_id != city_id:
                continue
            if asset.asset.kind not in VEHICLE_KINDS or not row.trace or not rental.started_at:
                continue
            local = rental.started_at.astimezone(timezone)
            if local.date() < since or not hours[0] <= local.hour < hours[1]:
                continue
            lon, lat = row.trace[0]
            spot = store.hotspot_at(city_id, lon, lat)
            cell = (math.floor(lon / cell_degrees), math.floor(lat / cell_degrees))
            days = by_hotspot[str(spot)] if spot is not None else by_cell[cell]
            days[local.date()] = days.get(local.date(), 0) + 1
        return dict(by_hotspot), dict(by_cell)

    def first_trip_day(self, city_id: str) -> date | None:
        store = self._store
        starts = [
            row.rental.started_at
            for row in store.rentals.values()
            if row.rental.started_at is not None
            and (asset := store.assets.get(row.rental.asset_id)) is not None
            and asset.asset.city_id == city_id
        ]
        city = store.cities.get(city_id)
        if not starts or city is None:
            return None
        return min(starts).astimezone(ZoneInfo(city.timezone)).date()

    def timezone(self, city_id: str) -> str | None:
        city = self._store.cities.get(city_id)
        return city.timezone if city else None

    # --- the trucks

    def fleet(self, city_id: str) -> TruckFleet | None:
        return self._store.rebalancing_fleets.get(city_id)

    def fleets(self) -> list[TruckFleet]:
        fleets = self._store.rebalancing_fleets
        return [fleets[city_id] for city_id in sorted(fleets)]

    def save_fleet(self, fleet: TruckFleet) -> None:
        self._store.rebalancing_fleets[fleet.city_id] = fleet

    # --- plans

    def running_plan(self, city_id: str) -> RebalancingPlan | None:
        """The city's plan in the making, if any (there is at most one)."""
        running = self._plans(
            lambda plan: plan.city_id == city_id and plan.state is PlanState.RUNNING
        )
        return running[0] if running else None

    def add_plan(
        self, city_id: str, trigger: RunTrigger, started_at: datetime
    ) -> RebalancingPlan | None:
        """A new plan, running, numbered after the city's last; None when another run of the
        city is under way (the unique index on running plans)."""
        if self.run_started_meanwhile == city_id or self.running_plan(city_id) is not None:
            return None
        versions = [plan.version for plan in self._plans(lambda plan: plan.city_id == city_id)]
        plan = RebalancingPlan(
            uuid.uuid4(),
            city_id,
            max(versions, default=0) + 1,
            PlanState.RUNNING,
            trigger,
            started_at,
        )
        self._store.rebalancing_plans[plan.id] = plan
        return copy.deepcopy(plan)

    def end_plan(
        self,
        plan_id: uuid.UUID,
        state: PlanState,
        finished_at: datetime,
        *,
        summary: Summary | None = None,
        error: str | None = None,
    ) -> None:
        """The plan's run ended in `state`; a summary or error not given is left as it is."""
        plans = self._store.rebalancing_plans
        plan = plans.get(plan_id)
        if plan is None:
            return
        plans[plan_id] = replace(
            plan,
            state=state,
            finished_at=finished_at,
            summary=plan.summary if summary is None else _json(summary),
            error=plan.error if error is None else error,
        )

    def add_stops(self, plan_id: uuid.UUID, stops: Sequence[PlannedStop]) -> None:
        store = self._store
        for stop in stops:
            key = (plan_id, stop.truck, stop.seq)
            if key in store.rebalancing_stops:
                raise IntegrityViolation("rebalancing_stops_pkey")
            lon, lat = stop.position
            store.rebalancing_stops[key] = PlanStop(
                stop.truck,
                stop.seq,
                stop.site,
                (lon, lat),
                stop.bikes,
                tuple(uuid.UUID(asset) for asset in stop.asset_ids),
                stop.metres_from_previous,
            )

    def plan(self, plan_id: uuid.UUID) -> RebalancingPlan | None:
        plan = self._store.rebalancing_plans.get(plan_id)
        return copy.deepcopy(plan) if plan else None

    def latest_plan(
        self, city_id: str, trigger: RunTrigger | None = None
    ) -> RebalancingPlan | None:
        plans = self._plans(
            lambda plan: plan.city_id == city_id and trigger in (None, plan.trigger)
        )
        return max(plans, key=lambda plan: plan.version, default=None)

    def stops(self, plan_id: uuid.UUID) -> list[PlanStop]:
        """By truck, then in driving order."""
        stops = self._store.rebalancing_stops
        return [stops[key] for key in sorted(stops) if key[0] == plan_id]

    def stop_for_update(self, plan_id: uuid.UUID, truck: int, seq: int) -> PlanStop | None:
        return self._store.rebalancing_stops.get((plan_id, truck, seq))

    def mark_done(
        self, plan_id: uuid.UUID, truck: int, seq: int, now: datetime, moved: list[uuid.UUID]
    ) -> None:
        """The stop is done; its bikes are now the ones that really moved."""
        stops = self._store.rebalancing_stops
        key = (plan_id, truck, seq)
        if key in stops:
            stops[key] = replace(stops[key], done_at=now, asset_ids=tuple(moved))

    def _plans(self, matches: Callable[[RebalancingPlan], bool]) -> list[RebalancingPlan]:
        plans = self._store.rebalancing_plans.values()
        return [copy.deepcopy(plan) for plan in plans if matches(plan)]


# --- the other ports ----------------------------------------------------------------------


@dataclass(frozen=True)
class SentUnlock:
    """An unlock the platform asked a lock (or a cabinet, for `slot`) to perform."""

    lock_id: str
    rental_id: uuid.UUID
    cmd_id: uuid.UUID | None
    slot: int | None
    expires_at: datetime | None


class RecordingLockChannel:
    """The lock port without a broker: keeps what it was asked to send. `sent` holds the
    unlocks (`SentUnlock`) and any command given to `send`; `acknowledged` the receipts.
    With `fail=True` every call raises LockChannelError, as when the broker is down."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[Any] = []
        self.acknowledged: list[Any] = []

    def send_unlock(self, lock: Lock, rental: Rental) -> None:
        self._check()
        self.sent.append(
            SentUnlock(
                lock.id, rental.id, rental.unlock_command_id, rental.slot, rental.unlock_expires_at
            )
        )

    def send(self, command: Any) -> None:
        """Any lock command (the port as `LockCommands.send` will have it)."""
        self._check()
        self.sent.append(command)

    def acknowledge(self, receipt: Any) -> None:
        self._check()
        self.acknowledged.append(receipt)

    def _check(self) -> None:
        if self.fail:
            raise LockChannelError("the broker is not answering (fake)")


class FakeBrokerAccounts:
    """`BrokerAccountsPort` without a broker: `created` maps lock ids to their passwords.
    `fail_with` is raised by the next call instead (e.g. lockctl's BrokerAccountError)."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}
        self.fail_with: Exception | None = None

    def create_lock_account(self, lock_id: str, password: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.created[lock_id] = password


FAKE_SIGNATURE_HEADER = "X-Fake-Signature"


class FakePaymentGateway:
    """A gateway that opens orders at once and records refunds asked of it; `fail=True`
    makes it unreachable (GatewayError). Its notifications are JSON bodies signed by the
    header `X-Fake-Signature: <name>`: build them with `notification()`."""

    def __init__(self, name: str = "fake", *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.orders: list[tuple[PaymentOrder, str]] = []  # (order, notify_url)
        self.refunds: list[tuple[Refund, PaymentOrder, str]] = []

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        self._check()
        self.orders.append((order, notify_url))
        trade_no = f"{self.name}-{order.id.hex[:16]}"
        return GatewayOrder(trade_no, f"https://pay.example/{self.name}/{trade_no}")

    def request_refund(self, refund: Refund, order: PaymentOrder, notify_url: str) -> None:
        self._check()
        self.refunds.append((refund, order, notify_url))

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification | None:
        """The notification if it bears this gateway's signature and parses, else None."""
        if headers.get(FAKE_SIGNATURE_HEADER) != self.name:
            return None
        try:
            event = json.loads(body)
            return Notification(
                event=str(event["event"]),
                trade_no=str(event["trade_no"]),
                reference=str(event["reference"]),
                amount_minor=int(event["amount_minor"]),
                currency=str(event["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def notification(self, values: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification from this gateway: `values` holds event,
        trade_no, reference (our order or refund id), amount_minor and currency."""
        body = json.dumps(dict(values), default=str).encode()
        return {FAKE_SIGNATURE_HEADER: self.name}, body

    def _check(self) -> None:
        if self.fail:
            raise GatewayError("the payment gateway is not answering (fake)")
