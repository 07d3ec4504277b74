"""The platform's tables in memory (`Store`), and what every fake repository shares: the
constraints the SQL adapters turn into business errors, the base class that ties a repository
to its unit of work, and copies that keep what a query returns the caller's."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shapely.geometry import MultiPolygon, Point

from rental.domain.alerts import Alert, DeadLetter
from rental.domain.cities import City
from rental.domain.damage_photos import DamagePhoto
from rental.domain.disputes import Dispute
from rental.domain.errors import Conflict, DuplicateRequest
from rental.domain.fleet import Asset, Cabinet, Condition, Lock
from rental.domain.funnel import FunnelMark
from rental.domain.idempotency import KeyUse
from rental.domain.ledger import AccountKind
from rental.domain.maintenance import DamageReport, ReportState
from rental.domain.payments import PaymentOrder, Refund
from rental.domain.phone_codes import PhoneCode
from rental.domain.pricing import PricingPlan
from rental.domain.rebalancing import PlanStop, RebalancingPlan, TruckFleet
from rental.domain.rentals import Rental, RentalState
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.riders import User
from rental.domain.sessions import Session
from rental.domain.zones import ZoneKind
from rental.services.read_models import MdsClient, StoredFeed
from rental.services.repositories.rides import LockFix

if TYPE_CHECKING:
    from tests.unit.fakes.unit_of_work import FakeUnitOfWork


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
# As `rental.adapters.rebalancing_night`: hotspots are the operator's parking zones.
HOTSPOT_KIND = ZoneKind.PARKING


class IntegrityViolation(Exception):
    """A constraint the SQL adapter does not turn into a business error (a primary key, a
    check): PostgreSQL would raise IntegrityError, a bug in the caller."""


def constraint_error(constraint: str) -> Exception:
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
class UserRow:
    user: User
    credit_score: int
    created_at: datetime


@dataclass
class RefreshTokenRow:
    session_id: uuid.UUID
    issued_at: datetime
    used_at: datetime | None = None


@dataclass
class CreditEventRow:
    id: int
    user_id: uuid.UUID
    reason: str
    delta: int
    score_after: int
    reference: str
    created_at: datetime


@dataclass
class LockRow:
    lock: Lock
    created_at: datetime
    # The (boot, seq) of the report `locked` came from.
    latch_boot: int | None = None
    latch_seq: int | None = None
    latch_reported_at: datetime | None = None


@dataclass
class AssetRow:
    asset: Asset
    created_at: datetime
    needs_retrieval: bool = False
    public_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class PlanRow:
    plan: PricingPlan
    created_at: datetime
    retired_at: datetime | None = None


@dataclass
class RentalRow:
    rental: Rental
    trace: list[tuple[float, float]] | None = None  # (lon, lat), as the LineString
    end_position: tuple[float, float] | None = None


@dataclass
class EventRow:
    lock_id: str
    boot: int
    seq: int
    type: str
    cmd_id: str | None
    payload: dict[str, Any]
    lock_time: datetime
    received_at: datetime


@dataclass
class AccountRow:
    id: int
    kind: str
    currency: str
    owner_id: str  # '' for the platform's own accounts
    balance_minor: int = 0  # kept for rider accounts only, as in PostgreSQL


@dataclass
class TransactionRow:
    id: uuid.UUID
    kind: str
    reference: str
    created_at: datetime


@dataclass
class PostingRow:
    id: int
    transaction: TransactionRow
    account_id: int
    amount_minor: int


@dataclass
class ZoneRow:
    id: uuid.UUID
    city_id: str
    kind: ZoneKind
    name: str
    max_speed_kph: float | None
    geometry: MultiPolygon
    created_at: datetime


@dataclass
class SpeedingRow:
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
class VehicleEventRow:
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
    cities: dict[str, City] = field(default_factory=dict)
    users: dict[uuid.UUID, UserRow] = field(default_factory=dict)
    phone_codes: dict[str, PhoneCode] = field(default_factory=dict)
    sessions: dict[uuid.UUID, Session] = field(default_factory=dict)  # role: the user's
    refresh_tokens: dict[bytes, RefreshTokenRow] = field(default_factory=dict)
    credit_events: list[CreditEventRow] = field(default_factory=list)
    idempotency_keys: dict[tuple[uuid.UUID, str], KeyUse] = field(default_factory=dict)
    locks: dict[str, LockRow] = field(default_factory=dict)
    assets: dict[uuid.UUID, AssetRow] = field(default_factory=dict)
    cabinets: dict[str, Cabinet] = field(default_factory=dict)
    pricing_plans: list[PlanRow] = field(default_factory=list)
    rentals: dict[uuid.UUID, RentalRow] = field(default_factory=dict)
    lock_events: dict[tuple[str, int, int], EventRow] = field(default_factory=dict)
    lock_positions: dict[tuple[str, int, int], LockFix] = field(default_factory=dict)
    # UTC days made room for (SQL: their partitions); other days' fixes are strays.
    fix_days: set[date] = field(default_factory=set)
    lock_report_problems: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: dict[int, DeadLetter] = field(default_factory=dict)
    alerts: dict[int, Alert] = field(default_factory=dict)
    accounts: dict[tuple[str, str, str], AccountRow] = field(default_factory=dict)
    transactions: dict[str, TransactionRow] = field(default_factory=dict)
    postings: list[PostingRow] = field(default_factory=list)
    payment_orders: dict[uuid.UUID, PaymentOrder] = field(default_factory=dict)
    refunds: dict[uuid.UUID, Refund] = field(default_factory=dict)
    disputes: dict[uuid.UUID, Dispute] = field(default_factory=dict)
    zones: dict[uuid.UUID, ZoneRow] = field(default_factory=dict)
    speeding_events: list[SpeedingRow] = field(default_factory=list)
    reservations: dict[uuid.UUID, Reservation] = field(default_factory=dict)
    damage_reports: dict[uuid.UUID, DamageReport] = field(default_factory=dict)
    damage_photos: dict[uuid.UUID, DamagePhoto] = field(default_factory=dict)
    vehicle_events: list[VehicleEventRow] = field(default_factory=list)
    mds_clients: dict[uuid.UUID, MdsClient] = field(default_factory=dict)
    gbfs_feeds: dict[tuple[str, str], StoredFeed] = field(default_factory=dict)
    rebalancing_fleets: dict[str, TruckFleet] = field(default_factory=dict)
    rebalancing_plans: dict[uuid.UUID, RebalancingPlan] = field(default_factory=dict)
    rebalancing_stops: dict[tuple[uuid.UUID, int, int], PlanStop] = field(default_factory=dict)
    funnel_marks: list[FunnelMark] = field(default_factory=list)
    # Searches that found nothing: (city_id, hour, cell_x, cell_y) -> how many.
    unmet_searches: dict[tuple[str, datetime, int, int], int] = field(default_factory=dict)
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

    def lock_of(self, lock_id: str | None) -> LockRow | None:
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

    def current_plan(self, city_id: str, kind: str) -> PlanRow | None:
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

    def condition(self, row: AssetRow, lock: LockRow, now: datetime) -> Condition:
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
            latch_unknown=lock.lock.latch_unknown_since is not None,
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


# --- what every repository shares -------------------------------------------------------


def copied(value: T) -> T:
    """What a query returns is the caller's: changing it changes nothing until saved."""
    return copy.copy(value)


def jsonb(value: Any) -> Any:
    """A JSONB round trip: tuples come back as lists, keys as strings."""
    return json.loads(json.dumps(value))


class Repository:
    """A fake repository works on its unit of work's store, and only inside `with uow:`."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _store(self) -> Store:
        # A repository used after its transaction ended fails in SQL too (closed connection).
        if not self._uow.active:
            raise RuntimeError("a repository used outside `with uow:`")
        return self._uow.store
