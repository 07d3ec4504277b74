"""What an operator weighs about a rider when judging their dispute: how much they ride,
how their earlier disputes ended, what went wrong on their rides lately, how long they have
been with us and their credit score. Counts only: no phone number, no name, no places.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.rentals import Rental, RentalState

# A month of riding shows a rider's habits; older rides say little about a fare today.
HISTORY_DAYS = 30


@dataclass(frozen=True)
class RiderHistory:
    window_days: int  # rides, failed unlocks and parking fees count within it
    rides: int  # finished rides requested within the window
    failed_unlocks: int  # scans within the window whose lock never opened
    parking_fees: int  # finished rides within the window charged a parking fee
    disputes_opened: int  # ever, the one being judged included
    disputes_open: int
    disputes_refunded: int
    disputes_rejected: int
    refunded_minor: Mapping[str, int]  # ever, by currency (ISO 4217): minor units
    account_age_days: int | None  # None when the account's creation is not known
    credit_score: int


def rider_history(
    rentals: Iterable[Rental],
    disputes: Iterable[Dispute],
    refunded_minor: Mapping[str, int],
    joined_at: datetime | None,
    credit_score: int,
    now: datetime,
    window_days: int = HISTORY_DAYS,
) -> RiderHistory:
    """The summary of one rider's `rentals` (any; those requested before the window are
    left out), all their `disputes`, the refunds they were given (by currency), when they
    joined and their credit score, as seen at `now` (time zone-aware)."""
    since = now - timedelta(days=window_days)
    recent = [rental for rental in rentals if rental.requested_at >= since]
    finished = [rental for rental in recent if rental.state is RentalState.ENDED]
    states = [dispute.state for dispute in disputes]
    return RiderHistory(
        window_days=window_days,
        rides=len(finished),
        failed_unlocks=sum(rental.state is RentalState.FAILED for rental in recent),
        parking_fees=sum(rental.out_of_zone_fee_minor > 0 for rental in finished),
        disputes_opened=len(states),
        disputes_open=states.count(DisputeState.OPEN),
        disputes_refunded=states.count(DisputeState.REFUNDED),
        disputes_rejected=states.count(DisputeState.REJECTED),
        refunded_minor={currency: amount for currency, amount in refunded_minor.items() if amount},
        account_age_days=None if joined_at is None else max(0, (now - joined_at).days),
        credit_score=credit_score,
    )
