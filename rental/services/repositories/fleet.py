"""The repositories of the fleet context, as the use cases need them: Assets, their locks
and cabinets, damage reports with their photos and the nearby search.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from rental.domain.damage_photos import DamagePhoto, PhotoInfo
from rental.domain.fleet import Asset, AssetKind, Cabinet, Lock, ServicePolicy
from rental.domain.maintenance import DamageReport, ReportState
from rental.services.read_models import AssetOverview, DamageReportEntry, NearbyVehicle, ScanTarget


class AssetRepository(Protocol):
    def add(self, asset: Asset) -> None: ...

    def get(self, asset_id: UUID) -> Asset | None: ...

    def uses_lock(self, lock_id: str) -> bool: ...

    def by_code(self, code: str, *, for_update: bool = False) -> Asset | None: ...

    def dock(self, asset_id: UUID, cabinet_id: str | None, slot: int | None) -> None:
        """Record where an item is now; whatever the slot held before has left it."""
        ...

    def rotate_public_id(self, asset_id: UUID) -> None:
        """A new public id after each trip: open data cannot link one rider's trips."""
        ...

    def set_needs_retrieval(self, asset_id: UUID, needs_retrieval: bool) -> None: ...

    def update_service(self, asset_id: UUID, **changes: bool) -> None: ...

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
        ...

    def overview(self, now: datetime, city_id: str | None = None) -> list[AssetOverview]:
        """Every asset with its device's state, its rental, reservation and damage reports."""
        ...


@dataclass(frozen=True)
class LatchRecord:
    """What a lock's row holds of its newest report: the (boot, seq) its latch state came
    from (None before any report), and the battery charge it shows."""

    latch: tuple[int, int] | None
    battery_pct: int | None


@dataclass(frozen=True)
class LatchReport:
    """The latch as the lock's newest report gave it, at `at` by the lock's clock."""

    locked: bool
    boot: int
    seq: int
    at: datetime


@dataclass(frozen=True)
class LockTelemetry:
    """What a batch of telemetry changes on one lock's row: it was last seen at `seen_at`
    (never moved back); a report at `heard_at` by its clock ends the doubt an unanswered
    unlock up to then left; `latch`, `battery_pct` and `position` (lon, lat) are those of
    its newest report, None where none of them is newer than the row or says it."""

    lock_id: str
    seen_at: datetime
    heard_at: datetime
    latch: LatchReport | None
    battery_pct: int | None
    position: tuple[float, float] | None


class LockRepository(Protocol):
    def add(self, lock: Lock) -> None: ...

    def get(self, lock_id: str, *, for_update: bool = False) -> Lock | None: ...

    def record_presence(self, lock_id: str, online: bool, boot: int, at: datetime) -> bool | None:
        """Whether the lock was online before; None when the report changed nothing."""
        ...

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
        ...

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
        report delivered late never overrides a newer one. `seen_at` (when it arrived) and
        `lon`, `lat` (where it was, WGS 84), when given, are kept as `record_seen` keeps
        them, in the same write. Returns whether this report is now the lock's newest
        latch report (False for an unknown lock): if it is, the lock has reported nothing
        after it, by event or by telemetry."""
        ...

    def known(self, lock_ids: Collection[str]) -> set[str]:
        """The known locks among `lock_ids`, read without holding their rows."""
        ...

    def latch_records(self, lock_ids: Collection[str]) -> dict[str, LatchRecord]:
        """The known locks among `lock_ids`, by id. Their rows are held until the
        transaction ends, taken in id order, so that two batches never deadlock."""
        ...

    def record_telemetry(self, changes: Sequence[LockTelemetry]) -> None:
        """Apply what telemetry changed, one lock's row per change (`latch_records` first:
        whether a report is newer than the row is decided on what it returned)."""
        ...

    def mark_latch_unknown(self, lock_id: str, since: datetime) -> None:
        """An unlock sent at `since` went unanswered: the latch may be open, until the lock
        reports it (by its clock) at or after `since`."""
        ...

    def open_latches_without_rental(self) -> list[tuple[str, datetime | None]]:
        """Vehicle locks whose latest report says open while no rental is unlocking or
        riding with them: (lock id, when it reported so). Cabinets are not latches."""
        ...


class CabinetRepository(Protocol):
    def add(self, cabinet: Cabinet) -> None: ...

    def get(self, lock_id: str) -> Cabinet | None: ...


class DamageReportRepository(Protocol):
    def add(self, report: DamageReport) -> None: ...

    def save(self, report: DamageReport) -> None: ...

    def get(self, report_id: UUID, *, for_update: bool = False) -> DamageReport | None: ...

    def open_on_asset(self, asset_id: UUID) -> list[DamageReport]:
        """The asset's open reports, held until the transaction ends."""
        ...

    def lock_reporter(self, reporter_id: UUID) -> None:
        """Hold this rider's reporting until the transaction ends, so that reports sent at
        once are counted one after the other against the daily limit."""
        ...

    def reported_since(self, reporter_id: UUID, since: datetime) -> list[datetime]:
        """When this rider filed reports (open or closed) at or after `since`."""
        ...

    def listing(
        self, city_id: str | None, state: ReportState | None
    ) -> list[DamageReportEntry]: ...


class DamagePhotoRepository(Protocol):
    def add(self, photo: DamagePhoto) -> None: ...

    def info(self, photo_id: UUID) -> PhotoInfo | None:
        """Who uploaded the photo, when, its kind and size: without reading its bytes."""
        ...

    def get(self, photo_id: UUID) -> DamagePhoto | None: ...

    def forget_unattached_before(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` photos uploaded before `before` that no damage report
        names; how many went."""
        ...


class VehicleSearch(Protocol):
    def nearby(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        kinds: list[AssetKind] | None,
        limit: int,
        now: datetime,
        policy: ServicePolicy,
    ) -> list[NearbyVehicle]: ...
