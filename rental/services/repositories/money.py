"""The repositories of the money context, as the use cases need them: The ledger, payment
orders, disputes and pricing plans.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from datetime import datetime
from typing import Protocol

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.ledger import AccountRef, Posting
from rental.domain.payments import PaymentOrder, Purpose, Refund
from rental.domain.pricing import PricingPlan, Tariff
from rental.services.read_models import AccountTotal, RiderPosting


class LedgerRepository(Protocol):
    def post(self, kind: str, reference: str, entries: list[Posting]) -> bool:
        """Book the postings once per reference; False if that reference was booked before."""
        ...

    def balance(self, ref: AccountRef, *, for_update: bool = False) -> int:
        """An account's balance; `for_update` holds a rider account until the transaction ends."""
        ...

    def derived_balance(self, ref: AccountRef) -> int: ...

    def owner_balances(self, owner_id: str) -> dict[tuple[str, str], int]:
        """(kind, currency) -> balance of every account of one rider."""
        ...

    def owner_postings(
        self, owner_id: str, limit: int, before: datetime | None
    ) -> list[RiderPosting]:
        """One rider's postings, newest first, with the transaction they belong to."""
        ...

    def postings_of(self, reference: str) -> list[tuple[str, int]]:
        """(account kind, amount) of the transaction booked under `reference`."""
        ...

    def totals(self) -> list[AccountTotal]:
        """Sum of postings per currency and account kind, for the books report."""
        ...

    def accounts_out_of_step(self) -> int:
        """Rider accounts whose running balance differs from the sum of their postings."""
        ...

    def unbalanced_currencies(self) -> dict[str, int]:
        """Per currency, the sum of all postings; empty when the books balance."""
        ...


class PaymentRepository(Protocol):
    def add_order(self, order: PaymentOrder) -> None: ...

    def save_order(self, order: PaymentOrder) -> None: ...

    def order(self, order_id: uuid.UUID, *, for_update: bool = False) -> PaymentOrder | None: ...

    def order_by_key(self, rider_id: uuid.UUID, key: str) -> PaymentOrder | None: ...

    def lock_rider_orders(self, rider_id: uuid.UUID) -> None:
        """Hold this rider's new orders until the transaction ends, so that orders sent at
        once are counted one after the other against the limit of open orders."""
        ...

    def open_until(self, rider_id: uuid.UUID, now: datetime) -> list[datetime]:
        """When each of the rider's orders still waiting for its payment at `now` expires."""
        ...

    def expire_pending(self, now: datetime, limit: int = 500) -> int:
        """Orders still pending whose wait ended by `now` become expired; how many did."""
        ...

    def refundable_orders(
        self, rider_id: uuid.UUID, currency: str, purpose: Purpose
    ) -> list[PaymentOrder]:
        """Paid orders for `purpose` with money left to refund, oldest first, locked."""
        ...

    def add_refund(self, refund: Refund) -> None: ...

    def refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> Refund | None: ...

    def refunds_for_request(self, rider_id: uuid.UUID, key: str) -> list[Refund]: ...

    def refunds_of_rider(self, rider_id: uuid.UUID, purpose: Purpose, limit: int) -> list[Refund]:
        """The rider's refunds of orders for `purpose`, newest first, at most `limit`."""
        ...

    def settle_refund(self, refund: Refund) -> None: ...


class DisputeRepository(Protocol):
    def add(self, dispute: Dispute) -> None: ...

    def get(self, dispute_id: uuid.UUID, *, for_update: bool = False) -> Dispute | None: ...

    def save(self, dispute: Dispute) -> None: ...

    def in_state(self, state: DisputeState, limit: int = 100) -> list[Dispute]: ...

    def for_rental(self, rental_id: uuid.UUID) -> list[Dispute]: ...

    def refunded_for_rental(self, rental_id: uuid.UUID) -> int: ...

    def of_rider(self, rider_id: uuid.UUID) -> list[Dispute]:
        """Every dispute the rider opened, oldest first."""
        ...

    def refunds_to_rider(self, rider_id: uuid.UUID) -> dict[str, int]:
        """What the rider's disputes refunded, in minor units by currency (ISO 4217)."""
        ...


class PricingPlanRepository(Protocol):
    def publish(
        self,
        city_id: str,
        kind: str,
        tariff: Tariff,
        deposit_minor: int = 0,
        deposit_waiver_score: int | None = None,
    ) -> PricingPlan:
        """Make `tariff` the current price; rentals already priced keep theirs."""
        ...

    def current(self, city_id: str, kind: str | None = None) -> list[PricingPlan]: ...
