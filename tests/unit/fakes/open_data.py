"""What the platform publishes, in memory: GBFS vehicles, each vehicle's history for MDS,
and the MDS clients (`rental.services.repositories.open_data`)."""

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from rental.domain.fleet import VEHICLE_KINDS, Asset, AssetKind, ServicePolicy, unavailable_because
from rental.domain.gbfs import EBIKE_RANGE_METERS
from rental.domain.mds import VehicleEvent
from rental.domain.rentals import RentalState
from rental.services.read_models import (
    City,
    LockFix,
    MdsClient,
    RenderedVehicles,
    StoredFeed,
    TelemetryRecord,
    TripRecord,
    VehicleEventRecord,
    VehicleRecord,
    VehicleStatusRecord,
)
from rental.services.repositories.rides import LockFix as StoredFix
from tests.unit.fakes.store import IntegrityViolation, Repository, VehicleEventRow


class FakeOpenDataRepository(Repository):
    def city(self, city_id: str) -> City | None:
        city = self._store.cities.get(city_id)
        if city is None or city.is_retired:
            return None
        return City(city.id, city.name, city.time_zone, city.currency, city.locale)

    def city_ids(self) -> list[str]:
        return sorted(c.id for c in self._store.cities.values() if not c.is_retired)

    def vehicles_json(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> RenderedVehicles:
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
        return RenderedVehicles(json.dumps(vehicles))

    def forget_changes(self, city_id: str, changes: Sequence[tuple[uuid.UUID, int]]) -> None:
        """Nothing is kept between renders here."""


class FakeVehicleHistory(Repository):
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
                VehicleEventRow(
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
    ) -> list[VehicleRecord]:
        return [
            VehicleRecord(asset.id, asset.code, asset.kind)
            for asset in self._vehicle_page(city_id, after, limit, device_id, located=False)
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
        store = self._store
        found = []
        for asset in self._vehicle_page(city_id, after, limit, device_id, located=True):
            lock = store.locks[asset.lock_id or ""].lock
            assert lock.lon is not None and lock.lat is not None  # located
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
            found.append(
                VehicleStatusRecord(
                    id=asset.id,
                    lock_id=lock.id,
                    in_service=asset.in_service,
                    online=lock.online,
                    last_seen_at=lock.last_seen_at,
                    battery_pct=lock.battery_pct,
                    lon=lock.lon,
                    lat=lock.lat,
                    rental_id=active,
                    reserved=live is not None and live.expires_at > now,
                    damaged=store.open_damage_reports(asset.id) > 0,
                    last_event=_event_record(last_event) if last_event else None,
                    last_fix=_lock_fix(last_fix) if last_fix else None,
                )
            )
        return found

    def events(
        self,
        city_id: str,
        start: datetime,
        end: datetime,
        after: uuid.UUID | None,
        limit: int | None,
    ) -> list[VehicleEventRecord]:
        """Events with start <= at < end, oldest first, after the event `after`."""
        events = self._store.vehicle_events
        found = [e for e in events if e.city_id == city_id and start <= e.at < end]
        if after is not None:
            cursor = next((e for e in events if e.id == after), None)
            if cursor is None:  # compared with NULL: nothing
                return []
            found = [e for e in found if (e.at, e.id) > (cursor.at, cursor.id)]
        found.sort(key=lambda e: (e.at, e.id))
        return [_event_record(e) for e in found[:limit]]

    def trips(self, city_id: str, start: datetime, end: datetime) -> list[TripRecord]:
        """Rides of the city's vehicles that ended in [start, end)."""
        store = self._store
        found = []
        for row in store.rentals.values():
            rental = row.rental
            if not self._of_vehicle_in(city_id, rental.asset_id) or row.end_position is None:
                continue
            if rental.state is not RentalState.ENDED or rental.ended_at is None:
                continue
            if not start <= rental.ended_at < end:
                continue
            assert rental.started_at is not None  # an ended ride had begun
            begin = row.trace[0] if row.trace else row.end_position
            found.append(
                TripRecord(
                    id=rental.id,
                    asset_id=rental.asset_id,
                    started_at=rental.started_at,
                    ended_at=rental.ended_at,
                    distance_m=rental.distance_m,
                    fare_minor=rental.fare_minor,
                    parking=rental.parking,
                    currency=rental.tariff.currency,
                    start_lon=begin[0],
                    start_lat=begin[1],
                    end_lon=row.end_position[0],
                    end_lat=row.end_position[1],
                )
            )
        found.sort(key=lambda trip: (trip.ended_at, trip.id))
        return found

    def telemetry(self, city_id: str, start: datetime, end: datetime) -> list[TelemetryRecord]:
        """Every fix of the city's vehicles in [start, end), with the ride it belongs to."""
        store = self._store
        by_lock = {
            row.asset.lock_id: row.asset
            for row in store.assets.values()
            if row.asset.lock_id is not None
            and row.asset.city_id == city_id
            and row.asset.kind in VEHICLE_KINDS
        }
        found = []
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
            rental_id = ride.id if ride is not None and during else None
            found.append(TelemetryRecord(asset.id, rental_id, _lock_fix(fix)))
        found.sort(key=lambda record: (record.fix.recorded_at, record.fix.lock_id))
        return found

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


def _event_record(event: VehicleEventRow) -> VehicleEventRecord:
    return VehicleEventRecord(
        id=event.id,
        asset_id=event.asset_id,
        kind=VehicleEvent(event.kind),
        at=event.at,
        recorded_at=event.recorded_at,
        lon=event.lon,
        lat=event.lat,
        battery_pct=event.battery_pct,
        rental_id=event.rental_id,
    )


def _lock_fix(fix: StoredFix) -> LockFix:
    return LockFix(
        lock_id=fix.lock_id,
        boot=fix.boot,
        seq=fix.seq,
        recorded_at=fix.recorded_at,
        lon=fix.lon,
        lat=fix.lat,
        accuracy_m=fix.accuracy_m,
        battery_pct=fix.battery_pct,
    )


class FakeMdsClients(Repository):
    def add(self, client_id: uuid.UUID, city_id: str, name: str) -> None:
        store = self._store
        if client_id in store.mds_clients:
            raise IntegrityViolation("mds_clients_pkey")
        store.mds_clients[client_id] = MdsClient(client_id, city_id, name, store.clock(), None)

    def city_of(self, client_id: uuid.UUID) -> str | None:
        """The city of a client whose access stands; None once revoked."""
        client = self._store.mds_clients.get(client_id)
        if client is None or client.revoked_at is not None:
            return None
        return client.city_id

    def revoke(self, client_id: uuid.UUID, at: datetime) -> bool:
        clients = self._store.mds_clients
        client = clients.get(client_id)
        if client is None or client.revoked_at is not None:
            return False
        clients[client_id] = replace(client, revoked_at=at)
        return True

    def listing(self) -> list[MdsClient]:
        return sorted(self._store.mds_clients.values(), key=lambda client: client.created_at)


class FakeSharedFeeds(Repository):
    """One render per city and feed. A unit test runs one unit of work at a time: a
    render turn is always free."""

    def latest(self, city_id: str, name: str, holding: str | None) -> StoredFeed | None:
        stored = self._store.gbfs_feeds.get((city_id, name))
        if stored is None or stored.etag != holding:
            return stored
        return replace(stored, body=None)

    def take_render_turn(self, city_id: str, name: str) -> None:
        _ = self._store  # only inside a transaction, as in SQL

    def store(self, feed: StoredFeed) -> bool:
        stored = self._store.gbfs_feeds.get((feed.city_id, feed.name))
        if stored is not None and stored.last_updated >= feed.last_updated:
            return False
        self._store.gbfs_feeds[(feed.city_id, feed.name)] = feed
        return True
