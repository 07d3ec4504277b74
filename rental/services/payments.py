"""Top-ups and deposits paid through a gateway, and what gateways tell us about them.

Every call a rider can retry takes an idempotency key and answers the first result
again. A rider has a few orders waiting for their payment at most, each for a limited
time (`rental.domain.fair_use.PaymentOrderRules`); an order that expired is still
credited when its gateway says it was paid. A notification is believed only with a valid
signature, from the gateway that took the order, for its exact amount and currency, on
its own trade; the first news of a payment also only once the gateway, asked about that
trade, confirms it (`_believed_order`, `_confirm_trade`: one rule for every gateway).
Each moves money at most once.
Deposits go back in `rental.services.refunds`.
"""

import logging
import uuid
from datetime import datetime
from typing import assert_never

from rental.domain.errors import (
    Conflict,
    DuplicateRequest,
    InvalidInput,
    LimitReached,
    NotFound,
    Unavailable,
)
from rental.domain.fair_use import (
    DEFAULT_PAYMENT_ORDER_RULES,
    PaymentOrderRules,
    orders_allowed_again_at,
)
from rental.domain.idempotency import KeyUse, Operation
from rental.domain.ledger import AccountKind, rider_account
from rental.domain.payments import (
    GatewayEvent,
    OrderState,
    PaymentOrder,
    Purpose,
    payment_postings,
)
from rental.services import refunds
from rental.services.commands.money import (
    GatewayNotification,
    StartDeposit,
    StartTopUp,
)
from rental.services.idempotency import claim_key
from rental.services.ports import (
    GatewayError,
    IgnoredNotification,
    Notification,
    PaymentGateway,
    PaymentGateways,
)
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle

log = logging.getLogger(__name__)


def start_top_up(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    command: StartTopUp,
    notify_url: str,
    now: datetime,
    rules: PaymentOrderRules = DEFAULT_PAYMENT_ORDER_RULES,
) -> PaymentOrder:
    """A pending order for `command.amount_minor`, opened at the gateway (its `pay_url`).

    Raises LimitReached (`too_many_open_payments`) while the rider has `rules.open_orders`
    orders waiting, Unavailable when the gateway does not answer."""
    order = PaymentOrder(
        uuid.uuid4(),
        command.rider_id,
        Purpose.TOP_UP,
        command.amount_minor,
        command.currency,
        gateway.name,
        OrderState.PENDING,
        command.idempotency_key,
        expires_at=now + rules.pending_for,
    )
    use = KeyUse(Operation.TOP_UP, f"{command.amount_minor} {command.currency}")
    return _open_order(uow, gateway, order, use, notify_url, now, rules)


def start_deposit(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    command: StartDeposit,
    notify_url: str,
    now: datetime,
    rules: PaymentOrderRules = DEFAULT_PAYMENT_ORDER_RULES,
) -> PaymentOrder:
    """A pending order for the deposit still due; errors as `start_top_up`, and NotFound
    (`no_deposit_needed`) or Conflict (`deposit_held`)."""
    rider_id = command.rider_id
    use = KeyUse(Operation.DEPOSIT, f"{command.city_id} {command.kind.value}")
    with uow:
        # Only a check here: the claim is kept with the order, in _open_order.
        claim_key(uow, rider_id, command.idempotency_key, use)
        earlier = uow.payments.order_by_key(rider_id, command.idempotency_key)
        if earlier is not None:
            return earlier
        plans = uow.pricing_plans.current(command.city_id, command.kind.value)
        plan = plans[0] if plans else None
        if plan is None or plan.deposit_minor == 0:
            raise NotFound("no deposit is asked for this kind in this city", "no_deposit_needed")
        held = uow.ledger.balance(
            rider_account(AccountKind.RIDER_DEPOSIT, str(rider_id), plan.tariff.currency)
        )
    due = plan.deposit_minor - held
    if due <= 0:
        raise Conflict("the deposit is already held", "deposit_held")
    order = PaymentOrder(
        uuid.uuid4(),
        rider_id,
        Purpose.DEPOSIT,
        due,
        plan.tariff.currency,
        gateway.name,
        OrderState.PENDING,
        command.idempotency_key,
        expires_at=now + rules.pending_for,
    )
    return _open_order(uow, gateway, order, use, notify_url, now, rules)


def _open_order(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    order: PaymentOrder,
    use: KeyUse,
    notify_url: str,
    now: datetime,
    rules: PaymentOrderRules,
) -> PaymentOrder:
    try:
        with uow:
            claim_key(uow, order.rider_id, order.idempotency_key, use)
            earlier = uow.payments.order_by_key(order.rider_id, order.idempotency_key)
            if earlier is not None:
                return earlier
            uow.payments.lock_rider_orders(order.rider_id)
            _check_open_orders(uow, order.rider_id, now, rules)
            uow.payments.add_order(order)
            uow.commit()
    except DuplicateRequest:
        return rider_order(uow, order.rider_id, None, order.idempotency_key)
    try:
        opened = gateway.create_order(order, notify_url)
    except GatewayError as exc:
        _mark_failed(uow, order.id)
        raise Unavailable(
            "the payment service is not answering; try again", "gateway_unavailable"
        ) from exc
    with uow:
        stored = uow.payments.order(order.id, for_update=True)
        assert stored is not None
        stored.trade_no, stored.pay_url = opened.trade_no, opened.pay_url
        uow.payments.save_order(stored)
        uow.commit()
    return stored


def _check_open_orders(
    uow: UnitOfWork, rider_id: uuid.UUID, now: datetime, rules: PaymentOrderRules
) -> None:
    retry_at = orders_allowed_again_at(uow.payments.open_until(rider_id, now), now, rules)
    if retry_at is not None:
        raise LimitReached(
            f"you have {rules.open_orders} payments waiting: pay one of them, or start a new "
            f"one after {retry_at.isoformat(timespec='minutes')} when the oldest expires",
            "too_many_open_payments",
            retry_at=retry_at,
            now=now,
        )


def expire_orders(uow: UnitOfWork, now: datetime) -> int:
    """Orders nobody paid within their time expire (lockctl's sweeper calls this); how
    many. A payment the gateway confirms later is still credited (`handle_notification`)."""
    with uow:
        expired = uow.payments.expire_pending(now)
        uow.commit()
    return expired


def _mark_failed(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    with uow:
        order = uow.payments.order(order_id, for_update=True)
        if order is not None and order.state is OrderState.PENDING:
            order.state = OrderState.FAILED
            uow.payments.save_order(order)
            uow.commit()


def rider_order(
    uow: UnitOfWork, rider_id: uuid.UUID, order_id: uuid.UUID | None, key: str | None = None
) -> PaymentOrder:
    with uow:
        if order_id is not None:
            order = uow.payments.order(order_id)
        else:
            assert key is not None
            order = uow.payments.order_by_key(rider_id, key)
    if order is None or order.rider_id != rider_id:
        raise NotFound("no such payment", "payment_not_found")
    return order


def handle_notification(
    uow: UnitOfWork,
    gateways: PaymentGateways,
    command: GatewayNotification,
    now: datetime,
    wallet_floor_minor: int,
) -> PaymentGateway:
    """Apply what `command.gateway` says of one of our orders or refunds, once; the
    gateway is returned for its acknowledgement. Raises NotFound `gateway_not_found` or
    `payment_not_found`, InvalidInput `invalid_signature`, `unknown_event`,
    `amount_mismatch`, `trade_mismatch` or `trade_not_confirmed`, Unavailable
    `gateway_unavailable` (the gateway cannot confirm the trade now; it retries)."""
    gateway = gateways.get(command.gateway)
    if gateway is None:
        raise NotFound(f"no gateway {command.gateway}", "gateway_not_found")
    notification = gateway.parse_notification(command.headers, command.body)
    if notification is None:
        raise InvalidInput("the notification's signature is not valid", "invalid_signature")
    if isinstance(notification, IgnoredNotification):
        log.info("gateway %s sent %s; nothing to do", gateway.name, notification.kind)
        return gateway
    try:
        event = GatewayEvent(notification.event)
    except ValueError:
        raise InvalidInput(f"unknown event {notification.event}", "unknown_event") from None
    reference = _reference_id(notification)
    match event:
        case GatewayEvent.PAYMENT_SUCCEEDED | GatewayEvent.PAYMENT_FAILED:
            succeeded = event is GatewayEvent.PAYMENT_SUCCEEDED
            _apply_payment(
                uow, gateway, reference, notification, succeeded, now, wallet_floor_minor
            )
        case GatewayEvent.REFUND_SUCCEEDED | GatewayEvent.REFUND_FAILED:
            succeeded = event is GatewayEvent.REFUND_SUCCEEDED
            refunds.apply_refund(uow, command.gateway, reference, notification, succeeded)
        case _:
            assert_never(event)
    return gateway


def _reference_id(notification: Notification) -> uuid.UUID:
    try:
        return uuid.UUID(notification.reference)
    except ValueError:
        raise NotFound("no such order or refund", "payment_not_found") from None


def _apply_payment(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    order_id: uuid.UUID,
    notification: Notification,
    succeeded: bool,
    now: datetime,
    wallet_floor_minor: int,
) -> None:
    with uow:
        order = _believed_order(uow, gateway.name, order_id, notification, for_update=False)
        first_news = order.state is not OrderState.PAID
    if first_news:
        # Asked outside the transaction: no row stays locked while the gateway answers.
        _confirm_trade(gateway, order, notification, succeeded)
    with uow:
        order = _believed_order(uow, gateway.name, order_id, notification, for_update=True)
        if not order.record_result(succeeded, now):
            uow.payments.save_order(order)
            uow.commit()
            return
        order.trade_no = notification.trade_no
        _book_payment(uow, order, wallet_floor_minor)
        uow.payments.save_order(order)
        uow.commit()


def _believed_order(
    uow: UnitOfWork,
    gateway: str,
    order_id: uuid.UUID,
    notification: Notification,
    *,
    for_update: bool,
) -> PaymentOrder:
    """The order a notification speaks of, if it matches it: taken by this gateway, for
    the same amount and currency, on the trade the gateway gave us (when we know it)."""
    order = uow.payments.order(order_id, for_update=for_update)
    if order is None:
        raise NotFound("no such order", "payment_not_found")
    if order.gateway != gateway:  # only the gateway that took the money speaks for it
        log.error("gateway %s spoke for order %s of %s", gateway, order.id, order.gateway)
        raise NotFound("no such order", "payment_not_found")
    if (notification.amount_minor, notification.currency) != (order.amount_minor, order.currency):
        log.error("notification for order %s does not match its amount", order.id)
        raise InvalidInput("amount or currency does not match the order", "amount_mismatch")
    if order.trade_no is not None and notification.trade_no != order.trade_no:
        log.error("notification for order %s names another trade", order.id)
        raise InvalidInput("the trade number is not this order's", "trade_mismatch")
    return order


def _confirm_trade(
    gateway: PaymentGateway, order: PaymentOrder, notification: Notification, succeeded: bool
) -> None:
    """The first news of a payment is believed only once the gateway, asked about the
    trade it names, confirms it: a trade it issued for this order, amount and currency
    (and paid, when the news is a payment). A signature alone is not enough: a leaked
    key or a replayed body must not credit anybody."""
    try:
        record = gateway.query_payment(notification.trade_no)
    except GatewayError as exc:
        raise Unavailable(
            "the payment service cannot confirm this trade now; try again", "gateway_unavailable"
        ) from exc
    confirmed = record is not None and (
        record.reference == str(order.id)
        and (record.amount_minor, record.currency) == (order.amount_minor, order.currency)
        and (record.paid or not succeeded)
    )
    if not confirmed:
        log.error("gateway %s did not confirm trade for order %s", gateway.name, order.id)
        raise InvalidInput("the gateway does not confirm this trade", "trade_not_confirmed")


def _book_payment(uow: UnitOfWork, order: PaymentOrder, wallet_floor_minor: int) -> None:
    entries = payment_postings(order)
    reference = f"payment:{order.id}"
    match order.purpose:
        case Purpose.TOP_UP:
            credit_and_settle(
                uow,
                order.rider_id,
                order.currency,
                "top_up",
                reference,
                entries,
                wallet_floor_minor,
            )
        case Purpose.DEPOSIT:
            uow.ledger.post("deposit", reference, entries)
        case _:
            assert_never(order.purpose)
