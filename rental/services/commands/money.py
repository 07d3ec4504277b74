"""Commands of the money context: payments, deposits, disputes and pricing plans."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.fleet import AssetKind


@dataclass(frozen=True)
class StartTopUp:
    rider_id: UUID
    amount_minor: int  # within rental.domain.payments' top-up limits
    currency: str  # an ISO 4217 code
    idempotency_key: str


@dataclass(frozen=True)
class StartDeposit:
    rider_id: UUID
    city_id: str
    kind: AssetKind
    idempotency_key: str


@dataclass(frozen=True)
class RefundDeposit:
    rider_id: UUID
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class Withdraw:
    """Money from the wallet back to where it came from, in minor units."""

    rider_id: UUID
    amount_minor: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class GatewayNotification:
    """What a payment gateway posted to us; believed only once its signature checks out."""

    gateway: str  # the gateway's name, from the URL it was told to call
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class OpenDispute:
    rider_id: UUID
    rental_id: UUID
    # Checked by the use case once the rental proves disputable; None: not sent as text.
    reason: str | None


@dataclass(frozen=True)
class ResolveDispute:
    dispute_id: UUID
    refund_minor: int | None  # None: not given as an integer, which no refund range admits
    note: str


@dataclass(frozen=True)
class PlanPrices:
    """A pricing plan's numbers as an operator sent them, each within
    rental.domain.pricing.PRICE_LIMITS; the currency is the city's."""

    unlock_fee_minor: int
    rate_per_interval_minor: int
    interval_seconds: int
    free_seconds: int
    daily_cap_minor: int | None  # None: no cap
    reservation_per_minute_minor: int
    out_of_zone_fee_minor: int
    replacement_price_minor: int | None  # None: never sold off
    deposit_minor: int
    deposit_waiver_score: int | None  # None: never waived


@dataclass(frozen=True)
class PublishPricingPlan:
    city_id: str
    kind: AssetKind
    prices: PlanPrices
