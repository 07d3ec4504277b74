"""The fleet in memory: locks and what they last reported, cabinets, assets with their
holds and scans, damage reports and their photos, and the search for vehicles near a rider
(`rental.services.repositories.fleet`)."""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from rental.domain.damage_photos import DamagePhoto, PhotoInfo
from rental.domain.fleet import (
    Asset,
    AssetKind,
    Cabinet,
    Lock,
    ServicePolicy,
    unavailable_because,
)
from rental.domain.ledger import AccountKind
from rental.domain.maintenance import DamageReport, ReportState
from rental.domain.trace import Fix, distance_m
from rental.services.read_models import (
    AssetOverview,
    DamageReportEntry,
    NearbyVehicle,
    ScanTarget,
)
from rental.services.repositories.fleet import LatchRecord, LockTelemetry
from tests.unit.fakes.store import (
    OPEN_RENTAL_STATES,
    AssetRow,
    IntegrityViolation,
    LockRow,
    Repository,
    constraint_error,
    copied,
)


class FakeLockRepository(Repository):
    def add(self, lock: Lock) -> None:
        """Only the id and the key are stored, as in SQL: a new lock is offline, unheard."""
        store = self._store
        if lock.id in store.locks:
            raise IntegrityViolation("locks_pkey")
        store.locks[lock.id] = LockRow(Lock(lock.id, lock.signing_key), store.clock())

    def get(self, lock_id: str, *, for_update: bool = False) -> Lock | None:
        row = self._store.locks.get(lock_id)
        if row is None:
            return None
        lock = copied(row.lock)
        if row.latch_boot is not None:
            lock.latch_report = (row.latch_boot, row.latch_seq or 0)
        return lock

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
        them, in the same write. Returns whether this report is now the newest."""
        row = self._store.locks.get(lock_id)
        if row is None:
            return False
        if seen_at is not None:
            last = row.lock.last_seen_at
            row.lock.last_seen_at = seen_at if last is None else max(last, seen_at)
        if lon is not None and lat is not None:
            row.lock.lon, row.lock.lat = lon, lat
        if row.lock.latch_unknown_since is not None and row.lock.latch_unknown_since <= at:
            row.lock.latch_unknown_since = None  # heard again since the unanswered unlock
        if row.latch_boot is not None and (row.latch_boot, row.latch_seq or 0) >= (boot, seq):
            return (row.latch_boot, row.latch_seq) == (boot, seq)
        row.lock.locked = locked
        row.latch_boot, row.latch_seq, row.latch_reported_at = boot, seq, at
        return True

    def known(self, lock_ids: Collection[str]) -> set[str]:
        return {lock_id for lock_id in lock_ids if lock_id in self._store.locks}

    def latch_records(self, lock_ids: Collection[str]) -> dict[str, LatchRecord]:
        rows = {lock_id: self._store.locks.get(lock_id) for lock_id in lock_ids}
        return {
            lock_id: LatchRecord(
                None if row.latch_boot is None else (row.latch_boot, row.latch_seq or 0),
                row.lock.battery_pct,
            )
            for lock_id, row in rows.items()
            if row is not None
        }

    def record_telemetry(self, changes: Sequence[LockTelemetry]) -> None:
        for change in changes:
            row = self._store.locks.get(change.lock_id)
            if row is None:
                continue
            lock = row.lock
            seen = lock.last_seen_at
            lock.last_seen_at = change.seen_at if seen is None else max(seen, change.seen_at)
            if lock.latch_unknown_since is not None and lock.latch_unknown_since <= change.heard_at:
                lock.latch_unknown_since = None
            if change.latch is not None:
                lock.locked = change.latch.locked
                row.latch_boot, row.latch_seq = change.latch.boot, change.latch.seq
                row.latch_reported_at = change.latch.at
            if change.battery_pct is not None:
                lock.battery_pct = change.battery_pct
            if change.position is not None:
                lock.lon, lock.lat = change.position

    def mark_latch_unknown(self, lock_id: str, since: datetime) -> None:
        """An unlock sent at `since` went unanswered: the latch may be open, until the lock
        reports it (by its clock) at or after `since`."""
        row = self._store.locks.get(lock_id)
        if row is not None:
            known = row.lock.latch_unknown_since
            # GREATEST ignores NULL: the later of the two, or `since`.
            row.lock.latch_unknown_since = since if known is None else max(known, since)

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


class FakeCabinetRepository(Repository):
    def add(self, cabinet: Cabinet) -> None:
        if cabinet.lock_id in self._store.cabinets:
            raise constraint_error("cabinets_pkey")
        self._store.cabinets[cabinet.lock_id] = cabinet

    def get(self, lock_id: str) -> Cabinet | None:
        return self._store.cabinets.get(lock_id)


class FakeAssetRepository(Repository):
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
            raise constraint_error("assets_code_key")
        if asset.lock_id is not None and any(other.lock_id == asset.lock_id for other in others):
            raise constraint_error("assets_lock_id_key")
        place = (asset.cabinet_id, asset.slot)
        if asset.cabinet_id is not None and any((o.cabinet_id, o.slot) == place for o in others):
            raise constraint_error("assets_one_per_slot")
        store.assets[asset.id] = AssetRow(copied(asset), store.clock())

    def get(self, asset_id: uuid.UUID) -> Asset | None:
        row = self._store.assets.get(asset_id)
        return copied(row.asset) if row else None

    def uses_lock(self, lock_id: str) -> bool:
        return any(row.asset.lock_id == lock_id for row in self._store.assets.values())

    def by_code(self, code: str, *, for_update: bool = False) -> Asset | None:
        row = self._by_code(code)
        return copied(row.asset) if row else None

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
            asset=copied(asset),
            lock=copied(device.lock),
            pricing_plan=plan.plan if plan else None,
            taken=store.open_rental_of_asset(asset.id) is not None,
            rider_debt_minor=-balance(AccountKind.RIDER_RECEIVABLE),
            rider_deposit_minor=balance(AccountKind.RIDER_DEPOSIT),
            rider_credit_score=user.credit_score if user else 0,
            earlier_rental_id=earlier,
            open_damage_reports=store.open_damage_reports(asset.id),
            held_reservation_id=held.id if held else None,
            rider_reservation_id=riders_hold.id if riders_hold else None,
            city_retired=(city := store.cities.get(asset.city_id)) is not None and city.is_retired,
            time_zone=city.time_zone if city else None,
        )

    def overview(self, now: datetime, city_id: str | None = None) -> list[AssetOverview]:
        """Every asset with its device's state, its rental, reservation and damage reports."""
        store = self._store
        found = []
        for row in sorted(store.assets.values(), key=lambda row: row.asset.code):
            asset = row.asset
            if city_id is not None and asset.city_id != city_id:
                continue
            device = store.lock_of(asset.device_id)
            lock = device.lock if device else None
            rental = store.open_rental_of_asset(asset.id)
            live = store.hold_on(asset.id)
            found.append(
                AssetOverview(
                    id=asset.id,
                    code=asset.code,
                    kind=asset.kind,
                    city_id=asset.city_id,
                    lock_id=asset.lock_id,
                    cabinet_id=asset.cabinet_id,
                    slot=asset.slot,
                    in_service=asset.in_service,
                    needs_retrieval=row.needs_retrieval,
                    online=lock.online if lock else None,
                    locked=lock.locked if lock else None,
                    # IS NOT NULL of a device the outer join did not find: false, not NULL.
                    latch_unknown=lock is not None and lock.latch_unknown_since is not None,
                    battery_pct=lock.battery_pct if lock else None,
                    last_seen_at=lock.last_seen_at if lock else None,
                    lon=lock.lon if lock else None,
                    lat=lock.lat if lock else None,
                    rental_state=rental.state if rental else None,
                    reserved=live is not None and live.expires_at > now,
                    open_damage_reports=store.open_damage_reports(asset.id),
                )
            )
        return found

    def _by_code(self, code: str) -> AssetRow | None:
        for row in self._store.assets.values():
            if row.asset.code == code:
                return row
        return None


class FakeDamagePhotoRepository(Repository):
    def forget_unattached_before(self, before: datetime, limit: int) -> int:
        named = {report.photo_ref for report in self._store.damage_reports.values()}
        doomed = [
            photo.id
            for photo in self._store.damage_photos.values()
            if photo.created_at < before and str(photo.id) not in named
        ][:limit]
        for photo_id in doomed:
            del self._store.damage_photos[photo_id]
        return len(doomed)

    def add(self, photo: DamagePhoto) -> None:
        if photo.id in self._store.damage_photos:
            raise IntegrityViolation("damage_photos_pkey")
        self._store.damage_photos[photo.id] = photo  # frozen: no copy needed

    def info(self, photo_id: uuid.UUID) -> PhotoInfo | None:
        photo = self._store.damage_photos.get(photo_id)
        if photo is None:
            return None
        picture = photo.picture
        return PhotoInfo(
            photo.id,
            photo.uploader_id,
            picture.content_type,
            picture.width,
            picture.height,
            len(picture.data),
            photo.created_at,
        )

    def get(self, photo_id: uuid.UUID) -> DamagePhoto | None:
        return self._store.damage_photos.get(photo_id)


class FakeDamageReportRepository(Repository):
    def add(self, report: DamageReport) -> None:
        store = self._store
        if report.id in store.damage_reports:
            raise IntegrityViolation("damage_reports_pkey")
        if report.state is ReportState.OPEN and any(
            (other.asset_id, other.reporter_id) == (report.asset_id, report.reporter_id)
            and other.state is ReportState.OPEN
            for other in store.damage_reports.values()
        ):
            raise constraint_error("damage_reports_one_open_per_reporter")
        store.damage_reports[report.id] = copied(report)

    def save(self, report: DamageReport) -> None:
        if report.id in self._store.damage_reports:
            self._store.damage_reports[report.id] = copied(report)

    def get(self, report_id: uuid.UUID, *, for_update: bool = False) -> DamageReport | None:
        report = self._store.damage_reports.get(report_id)
        return copied(report) if report else None

    def open_on_asset(self, asset_id: uuid.UUID) -> list[DamageReport]:
        return [
            copied(report)
            for report in self._store.damage_reports.values()
            if report.asset_id == asset_id and report.state is ReportState.OPEN
        ]

    def lock_reporter(self, reporter_id: uuid.UUID) -> None:
        """Nothing to wait for: use cases run one at a time here."""

    def reported_since(self, reporter_id: uuid.UUID, since: datetime) -> list[datetime]:
        return [
            report.created_at
            for report in self._store.damage_reports.values()
            if report.reporter_id == reporter_id and report.created_at >= since
        ]

    def listing(self, city_id: str | None, state: ReportState | None) -> list[DamageReportEntry]:
        """Newest first, at most 500."""
        store = self._store
        found = []
        for report in store.damage_reports.values():
            asset = store.assets[report.asset_id].asset
            if city_id is not None and asset.city_id != city_id:
                continue
            if state is not None and report.state is not state:
                continue
            found.append(DamageReportEntry(copied(report), asset.code, asset.city_id))
        found.sort(key=lambda entry: entry.report.created_at, reverse=True)
        return found[:500]


class FakeVehicleSearch(Repository):
    def nearby(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        kinds: list[AssetKind] | None,
        limit: int,
        now: datetime,
        policy: ServicePolicy,
    ) -> list[NearbyVehicle]:
        """Nearest first. Approximates PostGIS's distance on the spheroid by haversine."""
        store = self._store
        here = Fix(now, lon, lat)
        found = []
        for row in store.assets.values():
            asset = row.asset
            device = store.lock_of(asset.device_id)
            if device is None or device.lock.lon is None or device.lock.lat is None:
                continue
            if kinds and asset.kind not in kinds:
                continue
            distance = distance_m(here, Fix(now, device.lock.lon, device.lock.lat))
            if distance > radius_m:
                continue
            if unavailable_because(store.condition(row, device, now), now, policy):
                continue
            plan = store.current_plan(asset.city_id, asset.kind.value)
            found.append(
                NearbyVehicle(
                    asset.code,
                    asset.kind,
                    asset.city_id,
                    device.lock.lon,
                    device.lock.lat,
                    distance,
                    device.lock.battery_pct,
                    plan.plan if plan else None,
                )
            )
        found.sort(key=lambda vehicle: vehicle.distance_m)
        return found[:limit]
