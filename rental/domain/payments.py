"""Money coming in through a payment gateway and going back out as refunds.

A gateway's notifications arrive late, twice, or out of order. The order's state
only moves forward (pending -> paid, pending -> failed, pending -> expired when nobody
paid within its time, and failed or expired -> paid when the gateway confirms a payment
after all: money a rider paid is never lost), and money is booked once, on the move to
paid.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import assert_never

from rental.domain.errors import InvalidInput
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account

MIN_TOP_UP_MINOR = 100
MAX_TOP_UP_MINOR = 500_000


def checked_top_up(amount: object) -> int:
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not (MIN_TOP_UP_MINOR <= amount <= MAX_TOP_UP_MINOR)
    ):
        raise InvalidInput(
            f"amount_minor must be an integer from {MIN_TOP_UP_MINOR} to {MAX_TOP_UP_MINOR}",
            "invalid_amount",
        )
    return amount


class Purpose(StrEnum):
    TOP_UP = "top_up"
    DEPOSIT = "deposit"


class OrderState(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"  # not paid within its time (rental.domain.fair_use); still payable


@dataclass
class PaymentOrder:
    id: uuid.UUID
    rider_id: uuid.UUID
    purpose: Purpose
    amount_minor: int
    currency: str
    gateway: str
    state: OrderState
    idempotency_key: str
    trade_no: str | None = None
    pay_url: str | None = None
    refunded_minor: int = 0
    created_at: datetime | None = None
    paid_at: datetime | None = None
    # Until when it waits for its payment and counts among the rider's open orders.
    expires_at: datetime | None = None

    def record_result(self, succeeded: bool, at: datetime) -> bool:
        """Apply what the gateway says; True when money must be booked now (a payment
        confirmed for a failed or expired order too)."""
        if self.state is OrderState.PAID:
            return False  # a repeat, or a stale failure arriving after the success
        if succeeded:
            self.state = OrderState.PAID
            self.paid_at = at
            return True
        self.state = OrderState.FAILED
        return False


def clearing(currency: str) -> AccountRef:
    """Money gateways collected for us and have yet to settle into our bank account."""
    return AccountRef(AccountKind.GATEWAY_CLEARING, currency)


def payment_postings(order: PaymentOrder) -> list[Posting]:
    """The gateway now holds the rider's money for us; the rider's wallet or deposit grows."""
    return [
        Posting(clearing(order.currency), -order.amount_minor),
        Posting(
            rider_account(paid_into(order.purpose), str(order.rider_id), order.currency),
            order.amount_minor,
        ),
    ]


def paid_into(purpose: Purpose) -> AccountKind:
    """The rider's account that money paid for this purpose lands in."""
    match purpose:
        case Purpose.TOP_UP:
            return AccountKind.RIDER_WALLET
        case Purpose.DEPOSIT:
            return AccountKind.RIDER_DEPOSIT
        case _:
            assert_never(purpose)


class GatewayEvent(StrEnum):
    """What a gateway tells us about a payment or a refund."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"


class RefundState(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Refund:
    id: uuid.UUID
    order_id: uuid.UUID
    rider_id: uuid.UUID
    amount_minor: int
    state: RefundState
    request_key: str


def refund_requested_postings(refund: Refund, order: PaymentOrder) -> list[Posting]:
    """The money leaves the rider's account it was paid into (the deposit, or the wallet
    for a withdrawal) at once and waits for the gateway."""
    return [
        Posting(_paid_back_from(refund, order), -refund.amount_minor),
        Posting(AccountRef(AccountKind.REFUNDS_IN_FLIGHT, order.currency), refund.amount_minor),
    ]


def refund_settled_postings(refund: Refund, order: PaymentOrder, succeeded: bool) -> list[Posting]:
    """Paid back by the gateway, or returned to the rider's account when it refused."""
    target = clearing(order.currency) if succeeded else _paid_back_from(refund, order)
    return [
        Posting(AccountRef(AccountKind.REFUNDS_IN_FLIGHT, order.currency), -refund.amount_minor),
        Posting(target, refund.amount_minor),
    ]


def _paid_back_from(refund: Refund, order: PaymentOrder) -> AccountRef:
    return rider_account(paid_into(order.purpose), str(refund.rider_id), order.currency)
