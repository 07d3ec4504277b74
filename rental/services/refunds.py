"""Deposits given back: each part through the gateway that took it, and the gateway's
word on each refund. The deposit leaves the rider's account when the refund is asked for
and returns to it if the gateway refuses."""

import logging
import uuid
from collections.abc import Callable

from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.idempotency import KeyUse, Operation
from rental.domain.ledger import AccountKind, rider_account
from rental.domain.payments import (
    PaymentOrder,
    Refund,
    RefundState,
    refund_requested_postings,
    refund_settled_postings,
)
from rental.services.commands.money import RefundDeposit
from rental.services.idempotency import claim_key
from rental.services.ports import GatewayError, PaymentGateways
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import debt

log = logging.getLogger(__name__)


def apply_refund(
    uow: UnitOfWork, gateway: str, refund_id: uuid.UUID, amount_minor: int, succeeded: bool
) -> None:
    """`gateway`'s word on a refund, for the amount it names; a repeat changes nothing.
    Raises NotFound unless the refund's order was taken by that gateway."""
    with uow:
        refund = uow.payments.refund(refund_id, for_update=True)
        if refund is None:
            raise NotFound("no such refund", "payment_not_found")
        order = uow.payments.order(refund.order_id, for_update=True)
        assert order is not None
        if order.gateway != gateway:
            raise NotFound("no such refund", "payment_not_found")
        if refund.state is not RefundState.PROCESSING:
            return  # a repeat
        if amount_minor != refund.amount_minor:
            raise InvalidInput("amount does not match the refund", "amount_mismatch")
        _settle_refund(uow, refund, order, succeeded)
        uow.commit()


def _settle_refund(uow: UnitOfWork, refund: Refund, order: PaymentOrder, succeeded: bool) -> None:
    refund.state = RefundState.SUCCEEDED if succeeded else RefundState.FAILED
    uow.ledger.post(
        "refund" if succeeded else "refund_failed",
        f"refund:{refund.id}",
        refund_settled_postings(refund, order.currency, succeeded),
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
        if uow.rentals.has_open(rider_id):
            raise Conflict("end your rental first", "rental_in_progress")
        if debt(uow, rider_id, currency) > 0:
            raise Conflict("settle your debt first", "debt_outstanding")
        deposit = rider_account(AccountKind.RIDER_DEPOSIT, str(rider_id), currency)
        held = uow.ledger.balance(deposit, for_update=True)
        if held <= 0:
            raise Conflict("there is no deposit to refund", "no_deposit")
        refunds = _split_refunds(uow, rider_id, currency, held, request_key)
        uow.commit()
    for refund, order in refunds:
        try:
            gateway = gateways.get(order.gateway)
            if gateway is None:
                raise GatewayError(f"gateway {order.gateway} is not configured")
            gateway.request_refund(refund, order, notify_url(order.gateway))
        except GatewayError:
            log.warning("gateway refused refund %s; the deposit is returned", refund.id)
            with uow:
                stored = uow.payments.refund(refund.id, for_update=True)
                fresh = uow.payments.order(order.id, for_update=True)
                assert stored is not None and fresh is not None
                if stored.state is RefundState.PROCESSING:
                    _settle_refund(uow, stored, fresh, succeeded=False)
                uow.commit()
    with uow:
        return uow.payments.refunds_for_request(rider_id, request_key)


def _split_refunds(
    uow: UnitOfWork, rider_id: uuid.UUID, currency: str, held: int, request_key: str
) -> list[tuple[Refund, PaymentOrder]]:
    """Split the held deposit over the orders that paid it, each refunded on its own trade."""
    refunds = []
    remaining = held
    for order in uow.payments.refundable_deposits(rider_id, currency):
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
            refund_requested_postings(refund, currency),
        )
        refunds.append((refund, order))
        remaining -= amount
    if remaining:
        raise Conflict(
            "part of this deposit was not paid through a gateway; ask support", "refund_manual"
        )
    return refunds
