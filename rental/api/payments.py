"""Paying in (top-ups, deposits), getting deposits back, and the gateways' notifications."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import platform
from rental.api.parsing import idempotency_key, json_body, path_uuid, string
from rental.domain.errors import InvalidInput
from rental.domain.fleet import AssetKind
from rental.domain.payments import PaymentOrder, Refund, checked_currency, checked_top_up
from rental.domain.riders import Role
from rental.services import payments, refunds
from rental.services.commands.money import (
    GatewayNotification,
    RefundDeposit,
    StartDeposit,
    StartTopUp,
)

blueprint = Blueprint("payments", __name__, url_prefix="/api/v1")


def _notify_url(gateway: str) -> str:
    """Where the gateway of this name posts its notifications."""
    base = platform().config.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/api/v1/payments/notify/{gateway}"


@blueprint.post("/wallet/top-ups")
@requires(Role.RIDER)
def top_up() -> tuple[dict[str, Any], int]:
    body = json_body()
    command = StartTopUp(
        current_user_id(),
        checked_top_up(body.get("amount_minor")),
        checked_currency(body.get("currency", "CNY")),
        idempotency_key(body),
    )
    p = platform()
    gateway = p.payment_gateway
    notify_url, rules = _notify_url(gateway.name), p.config.payment_order_rules()
    order = payments.start_top_up(p.uow(), gateway, command, notify_url, p.now(), rules)
    return order_view(order), 201


@blueprint.post("/deposits")
@requires(Role.RIDER)
def pay_deposit() -> tuple[dict[str, Any], int]:
    body = json_body()
    city_id, kind = body.get("city_id"), body.get("kind")
    if not isinstance(city_id, str) or kind not in {k.value for k in AssetKind}:
        raise InvalidInput("city_id and a valid kind are required", "invalid_deposit")
    command = StartDeposit(current_user_id(), city_id, AssetKind(kind), idempotency_key(body))
    p = platform()
    gateway = p.payment_gateway
    notify_url, rules = _notify_url(gateway.name), p.config.payment_order_rules()
    order = payments.start_deposit(p.uow(), gateway, command, notify_url, p.now(), rules)
    return order_view(order), 201


@blueprint.post("/deposits/refunds")
@requires(Role.RIDER)
def refund_deposit() -> tuple[dict[str, Any], int]:
    body = json_body()
    key = idempotency_key(body)
    currency = string(body, "currency", "currency is required", "invalid_currency", default="CNY")
    p = platform()
    given_back = refunds.refund_deposit(
        p.uow(), p.payment_gateways, RefundDeposit(current_user_id(), currency, key), _notify_url
    )
    return {"refunds": [refund_view(refund) for refund in given_back]}, 202


@blueprint.get("/payments/<order_id>")
@requires(Role.RIDER)
def show_payment(order_id: str) -> dict[str, Any]:
    order = payments.rider_order(
        platform().uow(), current_user_id(), path_uuid(order_id, "payment")
    )
    return order_view(order)


@blueprint.post("/payments/notify/<gateway>")
def gateway_notification(gateway: str) -> dict[str, str]:
    """Called by a gateway, not by riders: trusted only through its signature."""
    p = platform()
    command = GatewayNotification(gateway, dict(request.headers), request.get_data())
    payments.handle_notification(
        p.uow(), p.payment_gateways, command, p.now(), p.config.WALLET_FLOOR_MINOR
    )
    return {"result": "success"}


def order_view(order: PaymentOrder) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "purpose": order.purpose.value,
        "amount_minor": order.amount_minor,
        "currency": order.currency,
        "state": order.state.value,
        "pay_url": order.pay_url,
        "refunded_minor": order.refunded_minor,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
    }


def refund_view(refund: Refund) -> dict[str, Any]:
    return {
        "id": str(refund.id),
        "payment_id": str(refund.order_id),
        "amount_minor": refund.amount_minor,
        "state": refund.state.value,
    }
