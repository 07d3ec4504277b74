"""Money given back: deposits, and withdrawals of the wallet's balance, each part as a
refund of a payment through the gateway that took it (to the rider's original payment
method), and the gateway's word on each refund. The money leaves the rider's account
when the refund is asked for, waits in `refunds_in_flight`, and returns to that account
if the gateway refuses: every step a balanced ledger transaction, booked once."""

import logging
import uuid
from collections.abc import Callable

from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.idempotency import KeyUse, Operation
from rental.domain.ledger import AccountKind, rider_account
from rental.domain.payments import (
    GatewayEvent,
    PaymentOrder,
    Purpose,
    Refund,
    RefundState,
    refund_requested_postings,
    refund_settled_postings,
)
from rental.services.commands.money import RefundDeposit, Withdraw
from rental.services.idempotency import claim_key
from rental.services.ports import GatewayError, Notification, PaymentGateways
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import debt

log = logging.getLogger(__name__)


def apply_refund(
    uow: UnitOfWork,
    gateway: str,
    refund_id: uuid.UUID,
    notification: Notification,
    succeeded: bool,
) -> None:
    """`gateway`'s word on a refund; a repeat changes nothing. Believed, as a payment's
    (`rental.services.payments`), only from the gateway that took the order, on the
    order's own trade and for the refund's amount and currency. Raises NotFound
    `payment_not_found`, InvalidInput `trade_mismatch` or `amount_mismatch`."""
    with uow:
        refund = uow.payments.refund(refund_id, for_update=True)
        if refund is None:
            raise NotFound("no such refund", "payment_not_found")
        order = uow.payments.order(refund.order_id, for_update=True)
        assert order is not None
        if order.gateway != gateway:
            raise NotFound("no such refund", "payment_not_found")
        if order.trade_no is not None and notification.trade_no != order.trade_no:
            log.error("refund notification for %s names another trade", refund.id)
            raise InvalidInput("the trade number is not this refund's", "trade_mismatch")
        if refund.state is not RefundState.PROCESSING:
            return  # a repeat
        if (notification.amount_minor, notification.currency) != (
            refund.amount_minor,
            order.currency,
        ):
            raise InvalidInput("amount does not match the refund", "amount_mismatch")
        _settle_refund(uow, refund, order, succeeded)
        uow.commit()


def _settle_refund(uow: UnitOfWork, refund: Refund, order: PaymentOrder, succeeded: bool) -> None:
    refund.state = RefundState.SUCCEEDED if succeeded else RefundState.FAILED
    uow.ledger.post(
        "refund" if succeeded else "refund_failed",
        f"refund:{refund.id}",
        refund_settled_postings(refund, order, succeeded),
    )
    if not succeeded:
        order.refunded_minor -= refund.amount_minor
        uow.payments.save_order(order)
    uow.payments.settle_refund(refund)


def refund_deposit(
    uow: UnitOfWork,
    gateways: PaymentGateways,
    command: RefundDeposit,
    notify_url: Callable[[str], str],
) -> list[Refund]:
    """Give the whole deposit back, once no rental or debt is open: each part through the
    gateway that took it. `notify_url` names where a gateway (by its name) reports back."""
    rider_id, currency, request_key = command.rider_id, command.currency, command.idempotency_key
    with uow:
        claim_key(uow, rider_id, request_key, KeyUse(Operation.DEPOSIT_REFUND, currency))
        earlier = uow.payments.refunds_for_request(rider_id, request_key)
        if earlier:
            return earlier
        _check_nothing_open(uow, rider_id, currency)
        deposit = rider_account(AccountKind.RIDER_DEPOSIT, str(rider_id), currency)
        held = uow.ledger.balance(deposit, for_update=True)
        if held <= 0:
            raise Conflict("there is no deposit to refund", "no_deposit")
        paid = uow.payments.refundable_orders(rider_id, currency, Purpose.DEPOSIT)
        refunds = _split_refunds(uow, rider_id, paid, held, request_key)
        uow.commit()
    return _ask_gateways(uow, gateways, refunds, notify_url, rider_id, request_key)


# How many of a rider's deposit refunds the app lists (a rider has one or two a year).
DEPOSIT_REFUNDS_SHOWN = 20


def deposit_refunds(uow: UnitOfWork, rider_id: uuid.UUID) -> list[Refund]:
    """The rider's deposit refunds, newest first, each in its gateway's state: what the
    app shows after "get my deposit back" (a part refused returns to the deposit)."""
    with uow:
        return uow.payments.refunds_of_rider(rider_id, Purpose.DEPOSIT, DEPOSIT_REFUNDS_SHOWN)


def withdraw(
    uow: UnitOfWork,
    gateways: PaymentGateways,
    command: Withdraw,
    notify_url: Callable[[str], str],
    wallet_floor_minor: int,
) -> list[Refund]:
    """Pay `command.amount_minor` of the wallet back to the rider's original payment
    method: as refunds of their top-ups, newest first (providers refund recent trades
    longest), each through the gateway that took it. Only money the rider paid in can
    leave, never credit below zero or below a positive wallet floor.

    Raises Conflict: `rental_in_progress`, `debt_outstanding`, `insufficient_balance`
    (more than the wallet holds), `refund_manual` (more than top-ups paid through a
    gateway left to refund, e.g. credit given by support); KeyReused for a key used on
    another request. A repeated request answers the first one's refunds."""
    rider_id, currency, request_key = command.rider_id, command.currency, command.idempotency_key
    use = KeyUse(Operation.WITHDRAWAL, f"{command.amount_minor} {currency}")
    with uow:
        claim_key(uow, rider_id, request_key, use)
        earlier = uow.payments.refunds_for_request(rider_id, request_key)
        if earlier:
            return earlier
        _check_nothing_open(uow, rider_id, currency)
        wallet = rider_account(AccountKind.RIDER_WALLET, str(rider_id), currency)
        withdrawable = uow.ledger.balance(wallet, for_update=True) - max(0, wallet_floor_minor)
        if command.amount_minor > withdrawable:
            raise Conflict(
                f"at most {max(0, withdrawable)} can be withdrawn", "insufficient_balance"
            )
        paid = uow.payments.refundable_orders(rider_id, currency, Purpose.TOP_UP)
        refunds = _split_refunds(uow, rider_id, paid[::-1], command.amount_minor, request_key)
        uow.commit()
    return _ask_gateways(uow, gateways, refunds, notify_url, rider_id, request_key)


def _check_nothing_open(uow: UnitOfWork, rider_id: uuid.UUID, currency: str) -> None:
    if uow.rentals.has_open(rider_id):
        raise Conflict("end your rental first", "rental_in_progress")
    if debt(uow, rider_id, currency) > 0:
        raise Conflict("settle your debt first", "debt_outstanding")


def _ask_gateways(
    uow: UnitOfWork,
    gateways: PaymentGateways,
    refunds: list[tuple[Refund, PaymentOrder]],
    notify_url: Callable[[str], str],
    rider_id: uuid.UUID,
    request_key: str,
) -> list[Refund]:
    """Ask each refund of its order's gateway; a part a gateway refuses (or that is no
    longer configured) returns to the rider's account at once."""
    for refund, order in refunds:
        try:
            gateway = gateways.get(order.gateway)
            if gateway is None:
                raise GatewayError(f"gateway {order.gateway} is not configured")
            settled = gateway.request_refund(refund, order, notify_url(order.gateway))
            if settled is not None:  # the gateway settled it at once (Alipay)
                _apply_settled_refund(uow, order.gateway, refund, settled)
        except GatewayError:
            log.warning("gateway refused refund %s; the money is returned", refund.id)
            with uow:
                stored = uow.payments.refund(refund.id, for_update=True)
                fresh = uow.payments.order(order.id, for_update=True)
                assert stored is not None and fresh is not None
                if stored.state is RefundState.PROCESSING:
                    _settle_refund(uow, stored, fresh, succeeded=False)
                uow.commit()
    with uow:
        return uow.payments.refunds_for_request(rider_id, request_key)


def _apply_settled_refund(
    uow: UnitOfWork, gateway: str, refund: Refund, settled: Notification
) -> None:
    """A refund's outcome given in the gateway's answer, believed by the same rule as its
    notification would be (`apply_refund`)."""
    try:
        event = GatewayEvent(settled.event)
        succeeded = event is GatewayEvent.REFUND_SUCCEEDED
        if event not in (GatewayEvent.REFUND_SUCCEEDED, GatewayEvent.REFUND_FAILED):
            raise InvalidInput(f"unexpected {event} for a refund", "unknown_event")
        apply_refund(uow, gateway, refund.id, settled, succeeded)
    except (ValueError, InvalidInput, NotFound):
        # Left processing: the daily statement (`reconcile`) or a later query settles it.
        log.error("gateway %s answered refund %s with %s", gateway, refund.id, settled)


def _split_refunds(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    paid: list[PaymentOrder],
    amount_minor: int,
    request_key: str,
) -> list[tuple[Refund, PaymentOrder]]:
    """Split `amount_minor` over the orders that paid it, in the order given, each
    refunded on its own trade."""
    refunds = []
    remaining = amount_minor
    for order in paid:
        amount = min(remaining, order.amount_minor - order.refunded_minor)
        if amount <= 0:
            break
        refund = Refund(
            uuid.uuid4(),
            order.id,
            rider_id,
            amount,
            RefundState.PROCESSING,
            f"{request_key}:{order.id}",
        )
        order.refunded_minor += amount
        uow.payments.save_order(order)
        uow.payments.add_refund(refund)
        uow.ledger.post(
            "refund_request",
            f"refund-request:{refund.id}",
            refund_requested_postings(refund, order),
        )
        refunds.append((refund, order))
        remaining -= amount
    if remaining:
        raise Conflict(
            "part of this money was not paid through a gateway; ask support", "refund_manual"
        )
    return refunds
