"""Money in memory: the double-entry ledger, payment orders and refunds, disputes, and
the pricing plans (`rental.services.repositories.money`)."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import DuplicateRequest
from rental.domain.ledger import AccountRef, Posting, check_balanced
from rental.domain.payments import OrderState, PaymentOrder, Purpose, Refund
from rental.domain.pricing import PricingPlan, Tariff
from rental.services.read_models import AccountTotal, RiderPosting
from tests.unit.fakes.store import (
    AccountRow,
    IntegrityViolation,
    PlanRow,
    PostingRow,
    Repository,
    TransactionRow,
    constraint_error,
    copied,
)


class FakeLedgerRepository(Repository):
    """Balanced transactions booked once per reference. Rider accounts keep a running
    balance updated with their postings; the platform's are summed from postings."""

    def post(self, kind: str, reference: str, entries: list[Posting]) -> bool:
        """Book the postings once per reference; False if that reference was booked before."""
        check_balanced(entries)
        store = self._store
        if reference in store.transactions:
            return False
        transaction = TransactionRow(uuid.uuid4(), kind, reference, store.clock())
        store.transactions[reference] = transaction
        for entry in entries:
            account = self._account(entry.account)
            if entry.account.owner_id is not None:
                account.balance_minor += entry.amount_minor
            store.postings.append(
                PostingRow(store.next_id("postings"), transaction, account.id, entry.amount_minor)
            )
        return True

    def balance(self, ref: AccountRef, *, for_update: bool = False) -> int:
        """An account's balance; `for_update` holds a rider account until the transaction
        ends (and, as in SQL, opens it at zero when it does not exist yet)."""
        if ref.owner_id is None:
            return self.derived_balance(ref)
        if for_update:
            self._account(ref)
        account = self._store.accounts.get(_account_key(ref))
        return account.balance_minor if account else 0

    def derived_balance(self, ref: AccountRef) -> int:
        account = self._store.accounts.get(_account_key(ref))
        if account is None:
            return 0
        return sum(p.amount_minor for p in self._store.postings if p.account_id == account.id)

    def owner_balances(self, owner_id: str) -> dict[tuple[str, str], int]:
        """(kind, currency) -> balance of every account of one rider."""
        return {
            (account.kind, account.currency): account.balance_minor
            for account in self._store.accounts.values()
            if account.owner_id == owner_id
        }

    def owner_postings(
        self, owner_id: str, limit: int, before: datetime | None
    ) -> list[RiderPosting]:
        """One rider's postings, newest first, with the transaction they belong to."""
        accounts = {a.id: a for a in self._store.accounts.values() if a.owner_id == owner_id}
        found = [
            posting
            for posting in self._store.postings
            if posting.account_id in accounts
            and (before is None or posting.transaction.created_at < before)
        ]
        found.sort(key=lambda posting: (posting.transaction.created_at, posting.id), reverse=True)
        return [
            RiderPosting(
                transaction_id=posting.transaction.id,
                transaction_kind=posting.transaction.kind,
                reference=posting.transaction.reference,
                created_at=posting.transaction.created_at,
                account=accounts[posting.account_id].kind,
                currency=accounts[posting.account_id].currency,
                amount_minor=posting.amount_minor,
            )
            for posting in found[:limit]
        ]

    def postings_of(self, reference: str) -> list[tuple[str, int]]:
        """(account kind, amount) of the transaction booked under `reference`."""
        kinds = {account.id: account.kind for account in self._store.accounts.values()}
        return [
            (kinds[posting.account_id], posting.amount_minor)
            for posting in self._store.postings
            if posting.transaction.reference == reference
        ]

    def totals(self) -> list[AccountTotal]:
        """Sum of postings per currency and account kind, for the books report."""
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for posting, account in self._with_accounts():
            sums[account.currency, account.kind] += posting.amount_minor
        return [
            AccountTotal(currency, kind, total) for (currency, kind), total in sorted(sums.items())
        ]

    def accounts_out_of_step(self) -> int:
        """Rider accounts whose running balance differs from the sum of their postings."""
        sums: dict[int, int] = defaultdict(int)
        for posting in self._store.postings:
            sums[posting.account_id] += posting.amount_minor
        return sum(
            1
            for account in self._store.accounts.values()
            if account.owner_id != "" and account.balance_minor != sums[account.id]
        )

    def unbalanced_currencies(self) -> dict[str, int]:
        """Per currency, the sum of all postings; empty when the books balance."""
        sums: dict[str, int] = defaultdict(int)
        for posting, account in self._with_accounts():
            sums[account.currency] += posting.amount_minor
        return {currency: total for currency, total in sums.items() if total != 0}

    def _with_accounts(self) -> Iterable[tuple[PostingRow, AccountRow]]:
        by_id = {account.id: account for account in self._store.accounts.values()}
        return ((posting, by_id[posting.account_id]) for posting in self._store.postings)

    def _account(self, ref: AccountRef) -> AccountRow:
        store = self._store
        key = _account_key(ref)
        if key not in store.accounts:
            store.accounts[key] = AccountRow(store.next_id("accounts"), *key)
        return store.accounts[key]


def _account_key(ref: AccountRef) -> tuple[str, str, str]:
    return (ref.kind.value, ref.currency, ref.owner_id or "")


class FakePaymentRepository(Repository):
    def add_order(self, order: PaymentOrder) -> None:
        """Any broken constraint is a repeated request, as in the SQL adapter."""
        store = self._store
        if order.expires_at is None:
            raise IntegrityViolation("payment_orders.expires_at is NOT NULL")
        if (
            order.id in store.payment_orders
            or order.amount_minor <= 0
            or not 0 <= order.refunded_minor <= order.amount_minor
            or any(
                (other.rider_id, other.idempotency_key) == (order.rider_id, order.idempotency_key)
                for other in store.payment_orders.values()
            )
        ):
            raise DuplicateRequest("request already received", "duplicate_request")
        store.payment_orders[order.id] = replace(order, created_at=store.clock())

    def save_order(self, order: PaymentOrder) -> None:
        """Only what can change: the state, the gateway's trade, payment and refunds."""
        stored = self._store.payment_orders.get(order.id)
        if stored is None:
            return
        if not 0 <= order.refunded_minor <= stored.amount_minor:
            raise IntegrityViolation("payment_orders_refundable")
        self._store.payment_orders[order.id] = replace(
            stored,
            state=order.state,
            trade_no=order.trade_no,
            pay_url=order.pay_url,
            paid_at=order.paid_at,
            refunded_minor=order.refunded_minor,
        )

    def order(self, order_id: uuid.UUID, *, for_update: bool = False) -> PaymentOrder | None:
        order = self._store.payment_orders.get(order_id)
        return copied(order) if order else None

    def order_by_key(self, rider_id: uuid.UUID, key: str) -> PaymentOrder | None:
        for order in self._store.payment_orders.values():
            if (order.rider_id, order.idempotency_key) == (rider_id, key):
                return copied(order)
        return None

    def lock_rider_orders(self, rider_id: uuid.UUID) -> None:
        """Nothing to wait for: use cases run one at a time here."""

    def open_until(self, rider_id: uuid.UUID, now: datetime) -> list[datetime]:
        return [
            order.expires_at
            for order in self._store.payment_orders.values()
            if order.rider_id == rider_id
            and order.state is OrderState.PENDING
            and order.expires_at is not None
            and order.expires_at > now
        ]

    def expire_pending(self, now: datetime, limit: int = 500) -> int:
        store = self._store
        due = sorted(
            (
                order
                for order in store.payment_orders.values()
                if order.state is OrderState.PENDING
                and order.expires_at is not None
                and order.expires_at <= now
            ),
            key=lambda order: order.expires_at or now,
        )[:limit]
        for order in due:
            store.payment_orders[order.id] = replace(order, state=OrderState.EXPIRED)
        return len(due)

    def refundable_orders(
        self, rider_id: uuid.UUID, currency: str, purpose: Purpose
    ) -> list[PaymentOrder]:
        """Paid orders for `purpose` with money left to refund, oldest first, locked."""
        found = [
            copied(order)
            for order in self._store.payment_orders.values()
            if order.rider_id == rider_id
            and order.purpose is purpose
            and order.currency == currency
            and order.state is OrderState.PAID
            and order.refunded_minor < order.amount_minor
        ]
        found.sort(key=lambda order: order.paid_at or datetime.max.replace(tzinfo=UTC))
        return found

    def add_refund(self, refund: Refund) -> None:
        store = self._store
        if refund.id in store.refunds or refund.amount_minor <= 0:
            raise IntegrityViolation("refunds_pkey or refunds_positive")
        if any(other.request_key == refund.request_key for other in store.refunds.values()):
            raise IntegrityViolation("refunds_request_key_key")
        store.refunds[refund.id] = copied(refund)

    def refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> Refund | None:
        refund = self._store.refunds.get(refund_id)
        return copied(refund) if refund else None

    def refunds_for_request(self, rider_id: uuid.UUID, key: str) -> list[Refund]:
        return [
            copied(refund)
            for refund in self._store.refunds.values()
            if refund.rider_id == rider_id and refund.request_key.startswith(f"{key}:")
        ]

    def refunds_of_rider(self, rider_id: uuid.UUID, purpose: Purpose, limit: int) -> list[Refund]:
        store = self._store
        found = [
            copied(refund)
            for refund in reversed(store.refunds.values())  # kept in the order they were made
            if refund.rider_id == rider_id
            and store.payment_orders[refund.order_id].purpose == purpose
        ]
        return found[:limit]

    def settle_refund(self, refund: Refund) -> None:
        stored = self._store.refunds.get(refund.id)
        if stored is not None:
            self._store.refunds[refund.id] = replace(stored, state=refund.state)


class FakeDisputeRepository(Repository):
    def add(self, dispute: Dispute) -> None:
        store = self._store
        if dispute.id in store.disputes:
            raise IntegrityViolation("disputes_pkey")
        if dispute.state is DisputeState.OPEN and any(
            other.rental_id == dispute.rental_id and other.state is DisputeState.OPEN
            for other in store.disputes.values()
        ):
            raise constraint_error("disputes_one_open_per_rental")
        store.disputes[dispute.id] = replace(dispute, created_at=store.clock())

    def get(self, dispute_id: uuid.UUID, *, for_update: bool = False) -> Dispute | None:
        dispute = self._store.disputes.get(dispute_id)
        return copied(dispute) if dispute else None

    def save(self, dispute: Dispute) -> None:
        stored = self._store.disputes.get(dispute.id)
        if stored is not None:
            self._store.disputes[dispute.id] = replace(
                stored,
                state=dispute.state,
                refund_minor=dispute.refund_minor,
                note=dispute.note,
                resolved_at=dispute.resolved_at,
            )

    def in_state(self, state: DisputeState, limit: int = 100) -> list[Dispute]:
        found = [d for d in self._store.disputes.values() if d.state is state]
        return [copied(d) for d in _by_creation(found)[:limit]]

    def for_rental(self, rental_id: uuid.UUID) -> list[Dispute]:
        found = [d for d in self._store.disputes.values() if d.rental_id == rental_id]
        return [copied(d) for d in _by_creation(found)]

    def refunded_for_rental(self, rental_id: uuid.UUID) -> int:
        return sum(
            d.refund_minor for d in self._store.disputes.values() if d.rental_id == rental_id
        )

    def of_rider(self, rider_id: uuid.UUID) -> list[Dispute]:
        found = [d for d in self._store.disputes.values() if d.rider_id == rider_id]
        return [copied(d) for d in _by_creation(found)]

    def refunds_to_rider(self, rider_id: uuid.UUID) -> dict[str, int]:
        refunds: dict[str, int] = {}
        for dispute in self._store.disputes.values():
            row = self._store.rentals.get(dispute.rental_id)
            if dispute.rider_id == rider_id and dispute.refund_minor and row is not None:
                currency = row.rental.tariff.currency
                refunds[currency] = refunds.get(currency, 0) + dispute.refund_minor
        return refunds


def _by_creation(disputes: list[Dispute]) -> list[Dispute]:
    # Stable: disputes created at the same moment keep the order they were added in.
    return sorted(disputes, key=lambda d: d.created_at or datetime.min.replace(tzinfo=UTC))


class FakePricingPlanRepository(Repository):
    def publish(
        self,
        city_id: str,
        kind: str,
        tariff: Tariff,
        deposit_minor: int = 0,
        deposit_waiver_score: int | None = None,
    ) -> PricingPlan:
        """Make `tariff` the current price; rentals already priced keep theirs."""
        store = self._store
        now = store.clock()
        for row in store.pricing_plans:
            if (row.plan.city_id, row.plan.kind) == (city_id, kind) and row.retired_at is None:
                row.retired_at = now
        plan = PricingPlan(uuid.uuid4(), city_id, kind, tariff, deposit_minor, deposit_waiver_score)
        store.pricing_plans.append(PlanRow(plan, now))
        return plan

    def current(self, city_id: str, kind: str | None = None) -> list[PricingPlan]:
        store = self._store
        kinds = sorted(
            {row.plan.kind for row in store.pricing_plans if row.plan.city_id == city_id}
        )
        current = [store.current_plan(city_id, each) for each in kinds if kind in (None, each)]
        return [row.plan for row in current if row is not None]
