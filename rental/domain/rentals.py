"""A rental's life: unlocking -> active -> ended, or unlocking -> failed.

Billing starts only when the lock confirms it opened, so a rental that fails
never costs the rider anything.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import Conflict
from rental.domain.pricing import Tariff, fare_for
from rental.domain.zones import Parking, ParkingVerdict


class RentalState(StrEnum):
    UNLOCKING = "unlocking"
    ACTIVE = "active"
    ENDED = "ended"
    FAILED = "failed"


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

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())

    def confirm_unlock(self, at: datetime) -> None:
        self._require(RentalState.UNLOCKING, "confirm an unlock")
        self.state = RentalState.ACTIVE
        self.started_at = at

    def fail(self, reason: FailureReason) -> None:
        self._require(RentalState.UNLOCKING, "fail")
        self.state = RentalState.FAILED
        self.failure_reason = reason

    def end(self, at: datetime) -> int:
        """Close the trip at `at` and return the fare it owes."""
        self._require(RentalState.ACTIVE, "end")
        assert self.started_at is not None
        self.ended_at = max(at, self.started_at)
        duration = self.duration_seconds
        assert duration is not None
        self.fare_minor = fare_for(duration, self.tariff)
        if self.tariff.replacement_price_minor is not None:  # never more than the item
            self.fare_minor = min(self.fare_minor, self.tariff.replacement_price_minor)
        self.state = RentalState.ENDED
        return self.fare_minor

    def is_lost_by(self, moment: datetime) -> bool:
        """An item still out whose fare has reached its replacement price by `moment`."""
        replacement = self.tariff.replacement_price_minor
        if self.state is not RentalState.ACTIVE or replacement is None:
            return False
        assert self.started_at is not None
        return fare_for(int((moment - self.started_at).total_seconds()), self.tariff) >= replacement

    def end_unreturned(self, at: datetime) -> int:
        """The item counts as sold to the rider at its replacement price."""
        assert self.tariff.replacement_price_minor is not None
        self.end(at)
        self.fare_minor = self.tariff.replacement_price_minor
        self.unreturned = True
        return self.fare_minor

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
