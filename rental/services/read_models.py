"""What use cases read across several aggregates at once, as typed values: each is filled
by one query in `rental.adapters` (or by the fakes in tests)."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.fleet import Asset, Lock
from rental.domain.pricing import PricingPlan


@dataclass(frozen=True)
class ScanTarget:
    """Everything a scan needs, read in one round trip."""

    asset: Asset
    lock: Lock
    plan: PricingPlan | None  # the current price of this kind in this city
    taken: bool  # a rental of it is unlocking or active
    rider_debt_minor: int = 0  # what the scanning rider owes in the plan's currency
    rider_deposit_minor: int = 0  # the deposit the rider holds in the plan's currency
    rider_credit_score: int = 0
    earlier_rental_id: UUID | None = None  # this rider's rental with the same idempotency key
    open_damage_reports: int = 0
    held_reservation_id: UUID | None = None  # a hold on it, perhaps expired but not yet swept
    rider_reservation_id: UUID | None = None  # the scanning rider's own hold, on any asset
