"""Paying in (top-ups, deposits), getting deposits back, and the gateway's notifications."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import json_body, parse_uuid, platform
from rental.domain.errors import NotFound
from rental.domain.payments import PaymentOrder, Refund
from rental.domain.riders import Role
from rental.services import payments

blueprint = Blueprint("payments", __name__, url_prefix="/api/v1")


def _notify_url() -> str:
    p = platform()
    return f"{p.config.PUBLIC_BASE_URL.rstrip('/')}/api/v1/payments/notify/{p.payment_gateway.name}"


@blueprint.post("/wallet/top-ups")
@requires(Role.RIDER)
def top_up() -> tuple[dict[str, Any], int]:
    body = json_body()
    p = platform()
    order = payments.start_top_up(
        p.uow(),
        p.payment_gateway,
        current_user_id(),
        body.get("amount_minor"),
        body.get("currency", "CNY"),
        body.get("idempotency_key"),
        _notify_url(),
    )
    return order_view(order), 201


@blueprint.post("/deposits")
@requires(Role.RIDER)
def pay_deposit() -> tuple[dict[str, Any], int]:
    body = json_body()
    p = platform()
    order = payments.start_deposit(
        p.uow(),
        p.payment_gateway,
        current_user_id(),
        body.get("city_id"),
        body.get("kind"),
        body.get("idempotency_key"),
        _notify_url(),
    )
    return order_view(order), 201


@blueprint.post("/deposits/refunds")
@requires(Role.RIDER)
def refund_deposit() -> tuple[dict[str, Any], int]:
    body = json_body()
    p = platform()
    refunds = payments.refund_deposit(
        p.uow(),
        p.payment_gateway,
        current_user_id(),
        body.get("currency", "CNY"),
        body.get("idempotency_key"),
        _notify_url(),
    )
    return {"refunds": [refund_view(refund) for refund in refunds]}, 202


@blueprint.get("/payments/<order_id>")
@requires(Role.RIDER)
def show_payment(order_id: str) -> dict[str, Any]:
    order = payments.rider_order(
        platform().uow(), current_user_id(), parse_uuid(order_id, "payment")
    )
    return order_view(order)


@blueprint.post("/payments/notify/<gateway>")
def gateway_notification(gateway: str) -> dict[str, str]:
    """Called by the gateway, not by riders: trusted only through its signature."""
    p = platform()
    if gateway != p.payment_gateway.name:
        raise NotFound(f"no gateway {gateway}", "gateway_not_found")
    payments.handle_notification(
        p.uow(),
        p.payment_gateway,
        dict(request.headers),
        request.get_data(),
        p.now(),
        p.config.WALLET_FLOOR_MINOR,
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
