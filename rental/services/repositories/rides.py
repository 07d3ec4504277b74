"""The repositories of the rides context, as the use cases need them: Rentals, reservations, and
what locks reported: events, fixes, alerts, dead letters.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from rental.domain.alerts import Alert, AlertKind, DeadLetter
from rental.domain.rentals import Rental
from rental.domain.reservations import Reservation
from rental.domain.trace import Fix
from rental.services.read_models import LockReportProblem, ShownRental

# A lock's report, named as the lock numbers it: (lock id, boot, seq).
ReportKey = tuple[str, int, int]


@dataclass(frozen=True)
class LockFix:
    """A position a lock reported in telemetry, as it is kept (`recorded_at` is the time of
    the report: the lock's clock, clamped to its arrival)."""

    lock_id: str
    boot: int
    seq: int
    recorded_at: datetime
    lon: float
    lat: float
    locked: bool
    battery_pct: int | None
    accuracy_m: float | None
    # False when the fix is dated by its arrival (the lock's clock was unusable, or ahead):
    # a repeat of it arrives at another time.
    dated_by_lock: bool = True


class RentalRepository(Protocol):
    def add(self, rental: Rental) -> None: ...

    def save(self, rental: Rental) -> None: ...

    def get(self, rental_id: UUID, *, for_update: bool = False) -> Rental | None: ...

    def shown(self, rental_id: UUID) -> ShownRental | None:
        """The rental with its city's time zone, in one read."""
        ...

    def by_idempotency_key(self, rider_id: UUID, key: str) -> Rental | None: ...

    def open_for_lock(self, lock_id: str) -> Rental | None:
        """The open trip of a vehicle's lock. A cabinet's rentals are not trips: its latch
        state says nothing about the items out, so they are never found here."""
        ...

    def locks_with_open_trip(self, lock_ids: Collection[str]) -> set[str]:
        """Those of `lock_ids` that `open_for_lock` would find a trip for."""
        ...

    def by_unlock_command(self, lock_id: str, cmd_id: str) -> Rental | None:
        """The rental a lock's answer belongs to, in whatever state (a cabinet has several
        at once; a late answer finds its rental failed)."""
        ...

    def riding_with_close_reported(self) -> list[Rental]:
        """Active rides of vehicle locks that already reported a close after their unlock
        (their close was processed before the unlock, or its ending failed): to repair."""
        ...

    def open_for_asset(self, asset_id: UUID) -> Rental | None: ...

    def of_rider_on_asset(self, rider_id: UUID, asset_id: UUID, since: datetime) -> list[Rental]:
        """The rider's rentals of the asset that are open, or were requested or ended at or
        after `since`."""
        ...

    def active_with_replacement_price(self, limit: int = 500) -> list[Rental]:
        """Item rentals that can run into their replacement price."""
        ...

    def for_rider(self, rider_id: UUID, limit: int, before: datetime | None) -> list[Rental]: ...

    def of_rider_since(self, rider_id: UUID, since: datetime) -> list[Rental]:
        """The rider's rentals requested at or after `since`, in any state."""
        ...

    def has_open(self, rider_id: UUID) -> bool: ...

    def unlocking_expired_before(self, moment: datetime) -> list[Rental]: ...

    def set_trace(self, rental_id: UUID, wkt: str) -> float:
        """Store the path and return its length in metres on the WGS 84 spheroid."""
        ...

    def set_end_position(self, rental_id: UUID, lon: float, lat: float) -> None: ...

    def end_position(self, rental_id: UUID) -> tuple[float, float] | None:
        """Where the ride ended as (lon, lat); None when the lock gave no usable position."""
        ...

    def trace_geojson(self, rental_id: UUID, tolerance_degrees: float = 0.0) -> str | None:
        """The stored path, simplified for display (the ends are always kept)."""
        ...


class LockLog(Protocol):
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
        ...

    def record_fixes(self, fixes: Sequence[LockFix]) -> set[ReportKey]:
        """Store fixes (of locks the caller knows: nothing checks them); returns the keys
        of those stored now (a repeat of a stored fix is not)."""
        ...

    def events_among(self, keys: Collection[ReportKey]) -> set[ReportKey]:
        """Those of `keys` that stored events used (one counter serves both channels)."""
        ...

    def fix_exists(self, lock_id: str, boot: int, seq: int, near: datetime) -> bool:
        """Whether telemetry already used this (boot, seq), in a fix dated within a day of
        `near`: one counter serves both channels, so a reused pair is a recent one."""
        ...

    def event_exists(self, lock_id: str, boot: int, seq: int) -> bool: ...

    def return_since(self, item: str, since: datetime) -> tuple[str, int, datetime] | None:
        """Where and when `item` was first pushed into a cabinet slot at or after `since`
        (the lock's clock): (cabinet id, slot, time); None if it was not."""
        ...

    def first_close_after(
        self, lock_id: str, boot: int, seq: int, since: datetime
    ) -> tuple[datetime, Fix | None] | None:
        """The lock's first report of a closed latch after (boot, seq) and not before
        `since` by its clock (a `locked` event, or telemetry saying `locked`): its time, and
        its position when it had one."""
        ...

    def record_problems(
        self,
        lock_id: str,
        channel: str,
        boot: int,
        seq: int,
        dropped: dict[str, str],
        received_at: datetime,
    ) -> None: ...

    def problems_of(self, lock_id: str, limit: int) -> list[LockReportProblem]: ...

    def fixes_between(self, lock_id: str, start: datetime, end: datetime) -> list[Fix]: ...

    def prepare_fix_days(self, first: date, last: date) -> int:
        """Make room ahead of time for the fixes of the UTC days `first` to `last`; how
        many days were new. A day some of whose fixes are stored already (lockctl was
        down for days) is left as it is: its fixes are forgotten one by one."""
        ...

    def forget_fix_days_before(self, cutoff: datetime) -> int:
        """Forget at once the fixes of each UTC day that ended by `cutoff`; about how
        many went (a day still running at `cutoff` is kept whole, so a fix is kept up to
        a day longer than asked)."""
        ...

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to `batch` events older than `cutoff`, and as many such fixes of days
        not forgotten at once (`forget_fix_days_before`); how many went."""
        ...


class ReservationRepository(Protocol):
    def add(self, reservation: Reservation) -> None: ...

    def save(self, reservation: Reservation) -> None: ...

    def get(self, reservation_id: UUID, *, for_update: bool = False) -> Reservation | None: ...

    def by_idempotency_key(self, rider_id: UUID, key: str) -> Reservation | None: ...

    def held_by_rider(self, rider_id: UUID) -> Reservation | None: ...

    def expired_before(self, moment: datetime, limit: int = 500) -> list[Reservation]: ...

    def of_rider_on_asset(
        self, rider_id: UUID, asset_id: UUID, since: datetime
    ) -> list[Reservation]:
        """The rider's holds of the asset still held, or ended at or after `since`."""
        ...

    def cancelled_by_rider_since(self, rider_id: UUID, since: datetime) -> list[datetime]:
        """When the rider cancelled holds, of those ended at or after `since` cancelled
        without a rental: the rider's own cancels. A hold ended by a ride on another
        vehicle, or by a scan that found the lock offline, names that rental."""
        ...


class AlertRepository(Protocol):
    def open(
        self, kind: AlertKind, lock_id: str, detail: str, at: datetime, asset_id: UUID | None = None
    ) -> bool:
        """Open an alert unless one of this kind is open for this lock (a vehicle's lock,
        or a cabinet with `asset_id` naming the item); True if opened."""
        ...

    def resolve(self, kind: AlertKind, lock_id: str, at: datetime) -> None: ...

    def resolve_all_but(self, kind: AlertKind, still_open: set[str], at: datetime) -> int:
        """Resolve this kind's open alerts whose lock is not in `still_open`; how many."""
        ...

    def resolve_misplaced_items_moved(self, at: datetime) -> int:
        """Misplaced-item alerts whose item is no longer in a cabinet of another kind."""
        ...

    def list(self, city_id: str | None, *, include_resolved: bool = False) -> list[Alert]: ...


class DeadLetterRepository(Protocol):
    def add(self, topic: str, payload: bytes, reason: str, received_at: datetime) -> int:
        """Keep a message; the same message still open (a lock's resend) is kept once."""
        ...

    def get(self, letter_id: int, *, for_update: bool = False) -> DeadLetter | None: ...

    def list(
        self, *, open_only: bool, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]: ...

    def count_open(self) -> int: ...

    def mark_replayed(self, letter_id: int, at: datetime, outcome: str) -> None: ...

    def note_failed_replay(self, letter_id: int, reason: str) -> None: ...
