"""Rides in memory: rentals with their unique constraints and traces, the lock log of
events and fixes, reservations, alerts and dead letters
(`rental.services.repositories.rides`)."""

import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from shapely.geometry import LineString
from shapely.wkt import loads as load_wkt

from rental.domain.alerts import Alert, AlertKind, DeadLetter
from rental.domain.errors import NotFound
from rental.domain.rentals import Rental, RentalState
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.trace import Fix, distance_m
from rental.services.read_models import LockReportProblem, ShownRental
from rental.services.repositories.rides import LockFix, ReportKey
from tests.unit.fakes.store import (
    OPEN_RENTAL_STATES,
    EventRow,
    IntegrityViolation,
    RentalRow,
    Repository,
    Store,
    constraint_error,
    copied,
    jsonb,
)


class FakeRentalRepository(Repository):
    def add(self, rental: Rental) -> None:
        store = self._store
        if rental.id in store.rentals:
            raise IntegrityViolation("rentals_pkey")
        constraint = _broken_rental_constraint(store, rental)
        if constraint is not None:
            raise constraint_error(constraint)
        store.rentals[rental.id] = RentalRow(copied(rental))

    def save(self, rental: Rental) -> None:
        store = self._store
        row = store.rentals.get(rental.id)
        if row is None:
            return
        constraint = _broken_rental_constraint(store, rental)
        if constraint is not None:  # an UPDATE is not wrapped in conflicts_as_errors
            raise IntegrityViolation(constraint)
        row.rental = copied(rental)

    def get(self, rental_id: uuid.UUID, *, for_update: bool = False) -> Rental | None:
        row = self._store.rentals.get(rental_id)
        return copied(row.rental) if row else None

    def shown(self, rental_id: uuid.UUID) -> ShownRental | None:
        """The rental with its city's time zone, in one read."""
        rental = self.get(rental_id)
        if rental is None:
            return None
        asset = self._store.assets.get(rental.asset_id)
        city = self._store.cities.get(asset.asset.city_id) if asset else None
        return ShownRental(rental, city.time_zone if city else None)

    def by_idempotency_key(self, rider_id: uuid.UUID, key: str) -> Rental | None:
        return self._first(lambda r: (r.rider_id, r.idempotency_key) == (rider_id, key))

    def open_for_lock(self, lock_id: str) -> Rental | None:
        """The open trip of a vehicle's lock. A cabinet's rentals are not trips: its latch
        state says nothing about the items out, so they are never found here."""
        return self._first(
            lambda r: r.lock_id == lock_id and r.slot is None and r.state in OPEN_RENTAL_STATES
        )

    def locks_with_open_trip(self, lock_ids: Collection[str]) -> set[str]:
        return {lock_id for lock_id in lock_ids if self.open_for_lock(lock_id) is not None}

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
                found.append(copied(rental))
        return found

    def open_for_asset(self, asset_id: uuid.UUID) -> Rental | None:
        return self._first(lambda r: r.asset_id == asset_id and r.state in OPEN_RENTAL_STATES)

    def of_rider_on_asset(
        self, rider_id: uuid.UUID, asset_id: uuid.UUID, since: datetime
    ) -> list[Rental]:
        return self._all(
            lambda r: (
                (r.rider_id, r.asset_id) == (rider_id, asset_id)
                and (
                    r.state in OPEN_RENTAL_STATES
                    or r.requested_at >= since
                    or (r.ended_at is not None and r.ended_at >= since)
                )
            )
        )

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

    def of_rider_since(self, rider_id: uuid.UUID, since: datetime) -> list[Rental]:
        return self._all(lambda r: r.rider_id == rider_id and r.requested_at >= since)

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

    def end_position(self, rental_id: uuid.UUID) -> tuple[float, float] | None:
        row = self._store.rentals.get(rental_id)
        return row.end_position if row else None

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
        return [copied(row.rental) for row in self._store.rentals.values() if matches(row.rental)]


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


def _path_length_m(points: list[tuple[float, float]]) -> float:
    at = datetime.min
    return sum(distance_m(Fix(at, *a), Fix(at, *b)) for a, b in pairwise(points))


class FakeLockLog(Repository):
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
        store.lock_events[key] = EventRow(
            lock_id, boot, seq, event_type, cmd_id, jsonb(payload), lock_time, store.clock()
        )
        return True

    def record_fixes(self, fixes: Sequence[LockFix]) -> set[ReportKey]:
        """Store fixes (nothing checks their locks); returns the keys of those stored now."""
        store = self._store
        stored = set()
        for fix in fixes:
            key = (fix.lock_id, fix.boot, fix.seq)
            if key not in store.lock_positions:
                store.lock_positions[key] = fix
                stored.add(key)
        return stored

    def events_among(self, keys: Collection[ReportKey]) -> set[ReportKey]:
        return {key for key in keys if key in self._store.lock_events}

    def fix_exists(self, lock_id: str, boot: int, seq: int, near: datetime) -> bool:
        """Whether telemetry already used this (boot, seq) in a fix within a day of `near`."""
        fix = self._store.lock_positions.get((lock_id, boot, seq))
        return fix is not None and abs(fix.recorded_at - near) <= timedelta(days=1)

    def prepare_fix_days(self, first: date, last: date) -> int:
        days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
        new = days - self._store.fix_days
        self._store.fix_days |= new
        return len(new)

    def forget_fix_days_before(self, cutoff: datetime) -> int:
        store = self._store
        gone = {
            day
            for day in store.fix_days
            if datetime.combine(day + timedelta(days=1), time(), UTC) <= cutoff
        }
        doomed = [
            key
            for key, fix in store.lock_positions.items()
            if fix.recorded_at.astimezone(UTC).date() in gone
        ]
        for key in doomed:
            del store.lock_positions[key]
        store.fix_days -= gone
        return len(doomed)

    def event_exists(self, lock_id: str, boot: int, seq: int) -> bool:
        return (lock_id, boot, seq) in self._store.lock_events

    def return_since(self, item: str, since: datetime) -> tuple[str, int, datetime] | None:
        """Where and when `item` was first pushed into a cabinet slot at or after `since`
        (the lock's clock): (cabinet id, slot, time); None if it was not."""
        returns = sorted(
            (row for row in self._store.lock_events.values() if row.type == "returned"),
            key=lambda row: row.lock_time,
        )
        for row in returns:
            if row.payload.get("item") == item and row.lock_time >= since:
                return row.lock_id, int(row.payload["slot"]), row.lock_time
        return None

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
                "dropped": jsonb(dropped),
                "received_at": received_at,
            }
        )

    def problems_of(self, lock_id: str, limit: int) -> list[LockReportProblem]:
        rows = [row for row in self._store.lock_report_problems if row["lock_id"] == lock_id]
        rows.sort(key=lambda row: row["received_at"], reverse=True)
        return [
            LockReportProblem(
                row["channel"],
                row["boot"],
                row["seq"],
                tuple(row["dropped"].items()),
                row["received_at"],
            )
            for row in rows[:limit]
        ]

    def fixes_between(self, lock_id: str, start: datetime, end: datetime) -> list[Fix]:
        fixes = [
            fix
            for fix in self._store.lock_positions.values()
            if fix.lock_id == lock_id and start <= fix.recorded_at <= end
        ]
        fixes.sort(key=lambda fix: fix.recorded_at)
        return [Fix(fix.recorded_at, fix.lon, fix.lat, fix.accuracy_m) for fix in fixes]

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` events, and as many stray fixes (of days not made room
        for), older than `cutoff`; how many went."""
        store = self._store
        old_fixes = sorted(
            (fix.recorded_at, key)
            for key, fix in store.lock_positions.items()
            if fix.recorded_at < cutoff
            and fix.recorded_at.astimezone(UTC).date() not in store.fix_days
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


class FakeReservationRepository(Repository):
    def add(self, reservation: Reservation) -> None:
        store = self._store
        if reservation.id in store.reservations:
            raise IntegrityViolation("reservations_pkey")
        constraint = _broken_reservation_constraint(store, reservation)
        if constraint is not None:
            raise constraint_error(constraint)
        store.reservations[reservation.id] = copied(reservation)

    def save(self, reservation: Reservation) -> None:
        store = self._store
        if reservation.id not in store.reservations:
            return
        constraint = _broken_reservation_constraint(store, reservation)
        if constraint is not None:
            raise IntegrityViolation(constraint)
        store.reservations[reservation.id] = copied(reservation)

    def get(self, reservation_id: uuid.UUID, *, for_update: bool = False) -> Reservation | None:
        reservation = self._store.reservations.get(reservation_id)
        return copied(reservation) if reservation else None

    def by_idempotency_key(self, rider_id: uuid.UUID, key: str) -> Reservation | None:
        for reservation in self._store.reservations.values():
            if (reservation.rider_id, reservation.idempotency_key) == (rider_id, key):
                return copied(reservation)
        return None

    def held_by_rider(self, rider_id: uuid.UUID) -> Reservation | None:
        held = self._store.hold_of(rider_id)
        return copied(held) if held else None

    def expired_before(self, moment: datetime, limit: int = 500) -> list[Reservation]:
        due = [
            copied(reservation)
            for reservation in self._store.reservations.values()
            if reservation.state is ReservationState.HELD and reservation.expires_at <= moment
        ]
        due.sort(key=lambda reservation: reservation.expires_at)
        return due[:limit]

    def of_rider_on_asset(
        self, rider_id: uuid.UUID, asset_id: uuid.UUID, since: datetime
    ) -> list[Reservation]:
        return [
            copied(hold)
            for hold in self._store.reservations.values()
            if (hold.rider_id, hold.asset_id) == (rider_id, asset_id)
            and (
                hold.state is ReservationState.HELD
                or (hold.ended_at is not None and hold.ended_at >= since)
            )
        ]

    def cancelled_by_rider_since(self, rider_id: uuid.UUID, since: datetime) -> list[datetime]:
        return [
            hold.ended_at
            for hold in self._store.reservations.values()
            if hold.rider_id == rider_id
            and hold.state is ReservationState.CANCELLED
            and hold.rental_id is None
            and hold.ended_at is not None
            and hold.ended_at >= since
        ]


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


class FakeAlertRepository(Repository):
    def open(
        self,
        kind: AlertKind,
        lock_id: str,
        detail: str,
        at: datetime,
        asset_id: uuid.UUID | None = None,
    ) -> bool:
        """Open an alert unless one of this kind is open for this lock and asset (a
        vehicle's lock, or a cabinet with `asset_id` naming the item); True if opened."""
        store = self._store
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
        key = (kind, lock_id, asset.id if asset else None)
        if any(
            (alert.kind, alert.lock_id, alert.asset_id) == key and alert.resolved_at is None
            for alert in store.alerts.values()
        ):
            return False
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


class FakeDeadLetterRepository(Repository):
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
