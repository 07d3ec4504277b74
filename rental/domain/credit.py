"""The platform's own credit score: driven by how a rider rides and pays, and explained.

It starts at 600 and stays between 350 and 950. A score at or above a plan's waiver
score lets the rider ride without that plan's deposit.
"""

from dataclasses import dataclass
from enum import StrEnum

from rental.domain.errors import InvalidInput

INITIAL_SCORE = 600
LOWEST_SCORE = 350
HIGHEST_SCORE = 950


class CreditReason(StrEnum):
    CLEAN_RIDE = "clean_ride"
    TIMELY_PAYMENT = "timely_payment"
    UNPAID_FARE = "unpaid_fare"
    PARKING_VIOLATION = "parking_violation"
    DAMAGE = "damage"
    UNRETURNED_ITEM = "unreturned_item"


@dataclass(frozen=True)
class CreditEffect:
    delta: int
    explanation: str


EFFECTS = {
    CreditReason.CLEAN_RIDE: CreditEffect(+2, "A ride ended normally and was paid in full."),
    CreditReason.TIMELY_PAYMENT: CreditEffect(+5, "You paid what you owed."),
    CreditReason.UNPAID_FARE: CreditEffect(
        -15, "A fare was more than your wallet held; the rest is owed."
    ),
    CreditReason.PARKING_VIOLATION: CreditEffect(
        -10, "A bike was parked outside the service area or in a no-parking zone."
    ),
    CreditReason.DAMAGE: CreditEffect(-30, "Damage to a vehicle was confirmed."),
    CreditReason.UNRETURNED_ITEM: CreditEffect(
        -50, "An item was never returned and was charged at its replacement price."
    ),
}


# What operators may confirm by hand; the rest the platform records as it happens.
CONFIRMED_BY_OPERATORS = (CreditReason.PARKING_VIOLATION, CreditReason.DAMAGE)


def checked_incident(reason: object) -> CreditReason:
    allowed = {r.value for r in CONFIRMED_BY_OPERATORS}
    if reason not in allowed:
        raise InvalidInput(f"reason must be one of {sorted(allowed)}", "invalid_reason")
    return CreditReason(str(reason))


def score_after(score: int, reason: CreditReason) -> int:
    return max(LOWEST_SCORE, min(HIGHEST_SCORE, score + EFFECTS[reason].delta))


def deposit_waived(score: int, waiver_score: int | None) -> bool:
    return waiver_score is not None and score >= waiver_score
