"""What use cases read across several aggregates at once, as typed values: each is filled
by one query in `rental.adapters` (or by the fakes in tests)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from rental.domain.credit import CreditReason
from rental.domain.fleet import Asset, AssetKind, Lock, UnavailableReason
from rental.domain.maintenance import DamageReport
from rental.domain.mds import VehicleEvent
from rental.domain.pricing import PricingPlan
from rental.domain.rentals import Rental, RentalState
from rental.domain.zones import Parking

# --- fleet --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanTarget:
    """Everything a scan needs, read in one round trip."""

    asset: Asset
    lock: Lock
    pricing_plan: PricingPlan | None  # the current pricing plan of its kind in its city
    taken: bool  # a rental of it is unlocking or active
    rider_debt_minor: int = 0  # what the scanning rider owes in the plan's currency
    rider_deposit_minor: int = 0  # the deposit the rider holds in the plan's currency
    rider_credit_score: int = 0
    earlier_rental_id: UUID | None = None  # this rider's rental with the same idempotency key
    open_damage_reports: int = 0
    held_reservation_id: UUID | None = None  # a reservation of it, perhaps expired, not swept
    rider_reservation_id: UUID | None = None  # the scanning rider's own reservation, any asset
    city_retired: bool = False  # its city takes no new rides (rental.domain.cities)
    time_zone: str | None = None  # IANA: its city's clock, on which riders read times


@dataclass(frozen=True)
class AssetOverview:
    """An asset as operators see it in their list: its device's state, its rental, its
    reservation and damage reports, and why riders cannot take it now."""

    id: UUID
    code: str
    kind: AssetKind
    city_id: str
    lock_id: str | None
    cabinet_id: str | None
    slot: int | None
    in_service: bool
    needs_retrieval: bool
    online: bool | None  # None: no device holds it (an item out of every cabinet)
    locked: bool | None
    latch_unknown: bool | None  # not reported since an unlock went unanswered
    battery_pct: int | None
    last_seen_at: datetime | None
    lon: float | None
    lat: float | None
    rental_state: RentalState | None  # of its open rental, if it has one
    reserved: bool
    open_damage_reports: int
    unavailable: tuple[UnavailableReason, ...] = ()  # filled by the use case


@dataclass(frozen=True)
class NearbyVehicle:
    code: str
    kind: AssetKind
    city_id: str
    lon: float
    lat: float
    distance_m: float
    battery_pct: int | None
    pricing_plan: PricingPlan | None


@dataclass(frozen=True)
class DamageReportEntry:
    """A damage report in the operators' list, with the asset it is about."""

    report: DamageReport
    asset_code: str
    city_id: str


# --- rides --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownRental:
    """A rental as its rider is shown it: with the IANA time zone of its city, the clock
    its times are read on (None when its city is unknown)."""

    rental: Rental
    time_zone: str | None


@dataclass(frozen=True)
class RideTrace:
    rental: Rental
    path: list[tuple[float, float]] | None  # (lon, lat) in order; None: too short to draw


# --- riders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditEvent:
    at: datetime
    reason: CreditReason
    delta: int
    score_after: int


@dataclass(frozen=True)
class CreditReport:
    score: int
    history: list[CreditEvent]  # newest first


# --- money --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiderPosting:
    """One posting on one of a rider's accounts, with the ledger transaction it belongs to."""

    transaction_id: UUID
    transaction_kind: str
    reference: str
    created_at: datetime
    account: str  # the account's kind
    currency: str
    amount_minor: int


@dataclass(frozen=True)
class AccountTotal:
    """The sum of all postings of one kind of account in one currency."""

    currency: str
    kind: str
    total_minor: int


# --- city ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedingRecord:
    """A fix faster than a zone allowed, as recorded at the end of its trip."""

    rental_id: UUID
    asset_code: str
    zone_name: str
    recorded_at: datetime
    speed_kph: float
    max_speed_kph: float
    lon: float
    lat: float


# --- open data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """A running city as its open data (GBFS) present it."""

    id: str
    name: str
    timezone: str
    currency: str
    locale: str  # BCP 47


@dataclass(frozen=True)
class RenderedVehicles:
    """GBFS `vehicles` as a JSON array, and the changes of vehicles it rendered: (asset
    id, version) pairs to forget once the render's transaction is committed."""

    json: str
    changes: tuple[tuple[UUID, int], ...] = ()


@dataclass(frozen=True)
class StoredFeed:
    """A feed as rendered once for every API worker and host (`rental.services.shared_feeds`).

    `body` is the document as the API stored it (opaque here), or None where the asker
    said it holds this render already (same `etag`)."""

    city_id: str
    name: str
    last_updated: datetime  # when it was rendered: its data is at least this recent
    etag: str  # names this render, and no other
    body: bytes | None


@dataclass(frozen=True)
class MdsClient:
    id: UUID
    city_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class VehicleRecord:
    """A vehicle as MDS's /vehicles lists it."""

    id: UUID
    code: str
    kind: AssetKind


@dataclass(frozen=True)
class VehicleEventRecord:
    """An entry of a vehicle's history."""

    id: UUID
    asset_id: UUID
    kind: VehicleEvent
    at: datetime  # when it happened
    recorded_at: datetime  # when we wrote it down
    lon: float
    lat: float
    battery_pct: int | None
    rental_id: UUID | None


@dataclass(frozen=True)
class LockFix:
    """A position a lock reported, as MDS telemetry reads it."""

    lock_id: str
    boot: int
    seq: int
    recorded_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    battery_pct: int | None


@dataclass(frozen=True)
class TelemetryRecord:
    asset_id: UUID
    rental_id: UUID | None  # the ride the fix belongs to, if any
    fix: LockFix


@dataclass(frozen=True)
class VehicleStatusRecord:
    """What is true of a vehicle now, with its last logged event and its lock's last fix."""

    id: UUID
    lock_id: str
    in_service: bool
    online: bool
    last_seen_at: datetime | None
    battery_pct: int | None
    lon: float
    lat: float
    rental_id: UUID | None  # its active rental
    reserved: bool
    damaged: bool
    last_event: VehicleEventRecord | None
    last_fix: LockFix | None


@dataclass(frozen=True)
class TripRecord:
    """A finished ride of a vehicle, as MDS /trips reports it."""

    id: UUID
    asset_id: UUID
    started_at: datetime
    ended_at: datetime
    distance_m: float | None
    fare_minor: int | None
    parking: Parking | None
    currency: str
    start_lon: float
    start_lat: float
    end_lon: float
    end_lat: float


@dataclass(frozen=True)
class LockReportProblem:
    """Fields one report of a lock failed their checks with (field -> reason); the rest of
    the report was used."""

    channel: str
    boot: int
    seq: int
    dropped: tuple[tuple[str, str], ...]
    received_at: datetime
