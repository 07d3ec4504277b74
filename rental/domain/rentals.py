"""A rental's life: unlocking -> active -> ended, or unlocking -> failed.

Billing starts only when the lock confirms it opened, so a rental that fails
never costs the rider anything.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import Conflict
from rental.domain.pricing import FareLine, Tariff, fare_for, fare_lines
from rental.domain.zones import Parking, ParkingVerdict


class RentalState(StrEnum):
    UNLOCKING = "unlocking"
    ACTIVE = "active"
    ENDED = "ended"
    FAILED = "failed"


LATE_UNLOCK_NOTICE = (
    "The lock opened after the app said it had not: your ride started when it opened. "
    "Lock it again within a few minutes without riding and it is free."
)
# A late-opened bike locked again within this time, having moved less than this, costs nothing.
LATE_UNLOCK_GRACE_SECONDS = 300
LATE_UNLOCK_GRACE_METRES = 50.0


class FailureReason(StrEnum):
    LOCK_OFFLINE = "lock_offline"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    LOCK_UNREACHABLE = "lock_unreachable"


@dataclass
class Rental:
    id: UUID
    rider_id: UUID
    asset_id: UUID
    lock_id: str
    tariff: Tariff
    state: RentalState
    requested_at: datetime
    idempotency_key: str
    plan_id: UUID | None = None
    unlock_command_id: UUID | None = None
    unlock_expires_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failure_reason: FailureReason | None = None
    fare_minor: int | None = None
    distance_m: float | None = None
    parking: Parking | None = None
    parking_message: str | None = None
    out_of_zone_fee_minor: int = 0
    position_doubt: str | None = None
    slot: int | None = None  # the cabinet slot an item was released from
    unreturned: bool = False  # an item kept until its fare reached the replacement price
    # The unlock's (boot, seq) in the lock's own order: only later reports end the ride.
    unlock_boot: int | None = None
    unlock_seq: int | None = None
    late_unlock: bool = False  # the lock confirmed after the rider was told it timed out
    notice: str | None = None  # what the rider is told about this rental beyond its state

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())

    def confirm_unlock(self, at: datetime, boot: int | None = None, seq: int | None = None) -> None:
        self._require(RentalState.UNLOCKING, "confirm an unlock")
        self.state = RentalState.ACTIVE
        self.started_at = at
        self.unlock_boot, self.unlock_seq = boot, seq

    def adopt_late_unlock(self, at: datetime, boot: int | None, seq: int | None) -> None:
        """The lock opened after the rider was told the unlock timed out: the bike is in the
        rider's hands, so the ride is theirs from the moment it opened."""
        if self.state is not RentalState.FAILED or self.failure_reason is not FailureReason.TIMEOUT:
            raise Conflict("only a timed-out unlock can be confirmed late", "invalid_rental_state")
        self.state = RentalState.ACTIVE
        self.failure_reason = None
        self.started_at = at
        self.unlock_boot, self.unlock_seq = boot, seq
        self.late_unlock = True
        self.notice = LATE_UNLOCK_NOTICE

    def is_after_unlock(self, boot: int, seq: int, at: datetime) -> bool:
        """Whether a report from the lock comes after this ride's unlock, in the lock's own
        order ((boot, seq)) and by its clock: only such a report can end the ride."""
        assert self.started_at is not None
        if at < self.started_at:
            return False
        if self.unlock_boot is None or self.unlock_seq is None:
            return True  # confirmed before the platform kept the unlock's place
        return (boot, seq) > (self.unlock_boot, self.unlock_seq)

    def fail(self, reason: FailureReason) -> None:
        self._require(RentalState.UNLOCKING, "fail")
        self.state = RentalState.FAILED
        self.failure_reason = reason

    def end(self, at: datetime, distance_m: float | None = None) -> int:
        """Close the trip at `at` and return the fare it owes. `distance_m` (the trip's good
        path) decides whether a late-opened bike that never moved is free."""
        self._require(RentalState.ACTIVE, "end")
        assert self.started_at is not None
        self.ended_at = max(at, self.started_at)
        duration = self.duration_seconds
        assert duration is not None
        self.fare_minor = self._time_fare(duration)
        if self.late_unlock and _never_got_it(duration, distance_m):
            self.fare_minor = 0
            self.notice = "The lock opened late and was locked again unused: no charge."
        self.state = RentalState.ENDED
        return self.fare_minor

    def fare_so_far(self, now: datetime) -> int | None:
        """What ending the ride now would cost, before any parking fee; None unless riding.
        The app's running fare, from the same rule as the fare charged at the end."""
        if self.state is not RentalState.ACTIVE or self.started_at is None:
            return None
        return self._time_fare(max(0, int((now - self.started_at).total_seconds())))

    def _time_fare(self, duration_seconds: int) -> int:
        """The tariff's fare for this long, and never more than the item it lends."""
        fare = fare_for(duration_seconds, self.tariff)
        if self.tariff.replacement_price_minor is not None:
            return min(fare, self.tariff.replacement_price_minor)
        return fare

    def is_lost_by(self, moment: datetime) -> bool:
        """An item still out whose fare has reached its replacement price by `moment`."""
        replacement = self.tariff.replacement_price_minor
        fare = self.fare_so_far(moment)
        return replacement is not None and fare is not None and fare >= replacement

    def end_unreturned(self, at: datetime) -> int:
        """The item counts as sold to the rider at its replacement price."""
        assert self.tariff.replacement_price_minor is not None
        self.end(at)
        self.fare_minor = self.tariff.replacement_price_minor
        self.unreturned = True
        return self.fare_minor

    def receipt_lines(self) -> list[FareLine]:
        """The ended rental's fare itemised; the amounts always add up to `fare_minor`
        (the tariff's lines, then what the rental itself changed: a replacement price, a
        late unlock's waiver, a parking fee)."""
        self._require(RentalState.ENDED, "itemise")
        assert self.fare_minor is not None
        if self.unreturned:
            return [FareLine("replacement", "Not returned: the replacement price", self.fare_minor)]
        lines = fare_lines(self.duration_seconds or 0, self.tariff)
        listed = sum(line.amount_minor for line in lines)
        time_part = self.fare_minor - self.out_of_zone_fee_minor
        if time_part < listed:
            kind, label = (
                ("late_unlock_waiver", "Opened late and locked again unused")
                if self.late_unlock and time_part == 0
                else ("replacement_cap", "Capped at the replacement price")
            )
            lines.append(FareLine(kind, label, time_part - listed))
        if self.out_of_zone_fee_minor:
            lines.append(self._parking_fee_line())
        return lines

    def _parking_fee_line(self) -> FareLine:
        if self.parking is Parking.WRONG_CABINET:
            return FareLine(
                "wrong_cabinet_fee",
                "Returned to a cabinet for another kind",
                self.out_of_zone_fee_minor,
            )
        return FareLine(
            "parking_fee", "Parked outside the allowed area", self.out_of_zone_fee_minor
        )

    def judge_parking(self, verdict: ParkingVerdict, doubt: str | None) -> None:
        """Add the out-of-zone fee where the verdict calls for it; the trip ends either way."""
        self._require(RentalState.ENDED, "judge the parking of")
        assert self.fare_minor is not None
        if self.parking is not None:
            raise Conflict("this trip's parking was judged already", "parking_judged")
        self.parking = verdict.parking
        self.parking_message = verdict.message
        self.position_doubt = doubt
        if verdict.charge_fee:
            self.out_of_zone_fee_minor = self.tariff.out_of_zone_fee_minor
            self.fare_minor += self.out_of_zone_fee_minor

    def _require(self, state: RentalState, action: str) -> None:
        if self.state is not state:
            raise Conflict(
                f"cannot {action} a rental that is {self.state.value}", "invalid_rental_state"
            )


def _never_got_it(duration_seconds: int, distance_m: float | None) -> bool:
    moved = distance_m if distance_m is not None else 0.0
    return duration_seconds <= LATE_UNLOCK_GRACE_SECONDS and moved < LATE_UNLOCK_GRACE_METRES
