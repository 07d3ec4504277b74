"""Reserving a vehicle before unlocking it: one reservation per rider, released on expiry.

A reservation is priced by the pricing plan per started minute, charged when it ends: by
the rider's own scan, by cancelling, or by running out (then its whole length is charged).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import Conflict
from rental.domain.pricing import Tariff, started_intervals


class ReservationState(StrEnum):
    HELD = "held"
    USED = "used"  # the rider scanned it: the rental took over
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass
class Reservation:
    id: UUID
    rider_id: UUID
    asset_id: UUID
    idempotency_key: str
    tariff: Tariff
    created_at: datetime
    expires_at: datetime
    state: ReservationState = ReservationState.HELD
    ended_at: datetime | None = None
    fee_minor: int | None = None
    rental_id: UUID | None = None

    def is_live(self, now: datetime) -> bool:
        return self.state is ReservationState.HELD and now < self.expires_at

    def finish(self, state: ReservationState, now: datetime, *, free: bool = False) -> int:
        """End the reservation; returns the fee it costs. An expired one costs its whole length;
        `free` when the platform let the rider down (the vehicle could not be unlocked)."""
        if self.state is not ReservationState.HELD:
            raise Conflict(f"this reservation is {self.state.value}", "reservation_ended")
        if state is ReservationState.HELD:
            raise ValueError("a reservation ends in another state")
        end = self.expires_at if state is ReservationState.EXPIRED else min(now, self.expires_at)
        self.state = state
        self.ended_at = end
        held_seconds = int((end - self.created_at).total_seconds())
        self.fee_minor = 0 if free else reservation_fee(held_seconds, self.tariff)
        return self.fee_minor


def reservation_fee(held_seconds: int, tariff: Tariff) -> int:
    return started_intervals(max(0, held_seconds), 60) * tariff.reservation_per_minute_minor
