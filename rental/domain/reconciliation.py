"""A provider's daily statement held against our own orders and refunds.

Each line of the statement is money the provider moved (a payment taken, a refund paid);
each of our orders paid, and each refund settled, on that day should be one of them.
What differs is listed for a person to settle: never settled by the platform itself,
because the difference alone does not say which side is right (a notification lost, a
refund made by hand in the provider's dashboard, a forged notification believed, a
provider's mistake) and moving money on a guess could pay a rider twice or take money
that was never owed. A payment the provider took for an order that expired here (a
"late payment") is pointed out on its own: the rider paid and nothing was credited.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from rental.domain.payments import OrderState, RefundState


class DifferenceKind(StrEnum):
    MISSING_HERE = "missing_here"  # on the statement, but we have no such order or refund
    MISSING_THERE = "missing_there"  # paid or refunded here that day, not on the statement
    OTHER_AMOUNT = "other_amount"  # both have it, for other amounts or currencies
    OTHER_STATE = "other_state"  # paid or refunded there, not here (or on another trade)
    LATE_PAYMENT = "late_payment"  # paid there after the order expired or failed here


@dataclass(frozen=True)
class OurPayment:
    id: uuid.UUID
    trade_no: str | None
    amount_minor: int
    currency: str
    state: OrderState
    paid_at: datetime | None


@dataclass(frozen=True)
class OurRefund:
    id: uuid.UUID
    trade_no: str | None  # its order's
    amount_minor: int
    currency: str
    state: RefundState
    settled_at: datetime | None


@dataclass(frozen=True)
class TheirLine:
    """A line of a provider's statement (`rental.services.ports.StatementLine`)."""

    kind: str  # "payment" or "refund"
    trade_no: str
    reference: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    subject: str  # "payment" or "refund"
    reference: str  # our order or refund id (as the provider names it, when we lack it)
    trade_no: str
    currency: str
    ours_minor: int | None
    theirs_minor: int | None
    ours_state: str | None
    note: str


@dataclass(frozen=True)
class ReconciliationRun:
    id: uuid.UUID
    gateway: str
    day: date
    ran_at: datetime
    statement_lines: int
    differences: tuple[Difference, ...]


def differences(
    lines: Iterable[TheirLine],
    payments: Iterable[OurPayment],
    refunds: Iterable[OurRefund],
    paid_that_day: Iterable[OurPayment],
    refunded_that_day: Iterable[OurRefund],
) -> list[Difference]:
    """What differs between the statement's `lines` and our records: `payments` and
    `refunds` are ours that the lines name (any day), the `..._that_day` ones ours that
    moved money on the statement's day."""
    by_id = {str(p.id): p for p in payments} | {str(p.id): p for p in paid_that_day}
    by_trade = {p.trade_no: p for p in by_id.values() if p.trade_no}
    refunds_by_id = {str(r.id): r for r in refunds} | {str(r.id): r for r in refunded_that_day}
    found: list[Difference] = []
    seen: set[str] = set()
    for line in lines:
        if line.kind == "payment":
            payment = by_id.get(line.reference) or by_trade.get(line.trade_no)
            if payment is not None:
                seen.add(str(payment.id))
            found.extend(_payment_differences(line, payment))
        elif line.kind == "refund":
            refund = refunds_by_id.get(line.reference)
            if refund is not None:
                seen.add(str(refund.id))
            found.extend(_refund_differences(line, refund))
    for payment in paid_that_day:
        if str(payment.id) not in seen:
            found.append(_missing_there("payment", payment, payment.state, "credited here"))
    for refund in refunded_that_day:
        if str(refund.id) not in seen:
            found.append(_missing_there("refund", refund, refund.state, "refunded here"))
    return found


def _payment_differences(line: TheirLine, ours: OurPayment | None) -> list[Difference]:
    if ours is None:
        return [
            _difference(
                DifferenceKind.MISSING_HERE,
                line,
                None,
                "taken by the provider for an order we do not have through this gateway",
            )
        ]
    if (ours.amount_minor, ours.currency) != (line.amount_minor, line.currency):
        note = f"we expect {ours.amount_minor} {ours.currency}"
        return [_difference(DifferenceKind.OTHER_AMOUNT, line, ours, note)]
    match ours.state:
        case OrderState.PAID:
            if ours.trade_no and ours.trade_no != line.trade_no:
                note = f"paid here on trade {ours.trade_no}: the rider may have paid twice"
                return [_difference(DifferenceKind.OTHER_STATE, line, ours, note)]
            return []
        case OrderState.EXPIRED | OrderState.FAILED:
            note = (
                f"LATE PAYMENT: the rider paid after the order {ours.state.value} here and "
                "nothing was credited; credit it (the provider's notification again) or "
                "refund it at the provider"
            )
            return [_difference(DifferenceKind.LATE_PAYMENT, line, ours, note)]
        case OrderState.PENDING:
            note = "paid there, still pending here: its notification has not been believed"
            return [_difference(DifferenceKind.OTHER_STATE, line, ours, note)]


def _refund_differences(line: TheirLine, ours: OurRefund | None) -> list[Difference]:
    if ours is None:
        note = "refunded by the provider, not asked for by us (made in its dashboard?)"
        return [_difference(DifferenceKind.MISSING_HERE, line, None, note)]
    if (ours.amount_minor, ours.currency) != (line.amount_minor, line.currency):
        note = f"we asked for {ours.amount_minor} {ours.currency}"
        return [_difference(DifferenceKind.OTHER_AMOUNT, line, ours, note)]
    match ours.state:
        case RefundState.SUCCEEDED:
            return []
        case RefundState.PROCESSING:
            note = "refunded there, still processing here: its notification has not arrived"
            return [_difference(DifferenceKind.OTHER_STATE, line, ours, note)]
        case RefundState.FAILED:
            note = (
                "refunded there, failed here (the money went back to the rider's account): "
                "the rider has it twice"
            )
            return [_difference(DifferenceKind.OTHER_STATE, line, ours, note)]


def _difference(
    kind: DifferenceKind, line: TheirLine, ours: OurPayment | OurRefund | None, note: str
) -> Difference:
    return Difference(
        kind=kind,
        subject=line.kind,
        reference=str(ours.id) if ours is not None else line.reference,
        trade_no=line.trade_no,
        currency=line.currency,
        ours_minor=ours.amount_minor if ours is not None else None,
        theirs_minor=line.amount_minor,
        ours_state=ours.state.value if ours is not None else None,
        note=note,
    )


def _missing_there(
    subject: str, ours: OurPayment | OurRefund, state: OrderState | RefundState, done: str
) -> Difference:
    return Difference(
        kind=DifferenceKind.MISSING_THERE,
        subject=subject,
        reference=str(ours.id),
        trade_no=ours.trade_no or "",
        currency=ours.currency,
        ours_minor=ours.amount_minor,
        theirs_minor=None,
        ours_state=state.value,
        note=f"{done} that day, not on the provider's statement (near midnight: on the next "
        "day's statement)",
    )
