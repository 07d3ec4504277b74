"""Paying in (top-ups, deposits), getting deposits and the wallet back, and the gateways'
notifications."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from flask import Response
from flask_openapi3 import APIBlueprint, RawModel, Tag
from pydantic import BeforeValidator, Field, Strict

from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    UNAVAILABLE,
    AnswerModel,
    CityId,
    Currency,
    GatewayName,
    IdempotencyKey,
    RequestModel,
    explained,
    signed_in,
    whole,
)
from rental.domain.fleet import AssetKind
from rental.domain.payments import (
    MAX_TOP_UP_MINOR,
    MIN_TOP_UP_MINOR,
    OrderState,
    PaymentOrder,
    Purpose,
    Refund,
    RefundState,
)
from rental.domain.riders import Role
from rental.services import city_gateways, payments, refunds
from rental.services.commands.money import (
    GatewayNotification,
    RefundDeposit,
    StartDeposit,
    StartTopUp,
    Withdraw,
)
from rental.services.ports import PaymentGateway

PAYMENTS = Tag(name="payments", description="top-ups, deposits, their refunds and withdrawals")
blueprint = APIBlueprint("payments", __name__, url_prefix="/api/v1", abp_tags=[PAYMENTS])
RIDER_ONLY: dict[str, Any] = {"security": BEARER}

TopUpAmount = Annotated[
    int,
    Strict(),
    Field(ge=MIN_TOP_UP_MINOR, le=MAX_TOP_UP_MINOR, description="minor units"),
    explained(
        f"amount_minor must be an integer from {MIN_TOP_UP_MINOR} to {MAX_TOP_UP_MINOR}",
        "invalid_amount",
    ),
    BeforeValidator(whole),
]


class Order(AnswerModel):
    id: UUID
    purpose: Purpose
    amount_minor: int
    currency: str
    gateway: str = Field(description="the gateway that takes (took) the money, by name")
    state: OrderState
    pay_url: str | None = Field(description="the gateway's page where the rider pays")
    refunded_minor: int
    paid_at: datetime | None


def order_answer(order: PaymentOrder) -> Order:
    return Order(
        id=order.id,
        purpose=order.purpose,
        amount_minor=order.amount_minor,
        currency=order.currency,
        gateway=order.gateway,
        state=order.state,
        pay_url=order.pay_url,
        refunded_minor=order.refunded_minor,
        paid_at=order.paid_at,
    )


def _notify_url(gateway: str) -> str:
    """Where the gateway of this name posts its notifications."""
    base = platform().config.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/api/v1/payments/notify/{gateway}"


def _chosen_gateway(city_id: str | None, requested: str | None) -> PaymentGateway:
    """The gateway a rider's payment goes through (`rental.services.city_gateways`):
    400 `gateway_not_offered` for one the city does not offer."""
    p = platform()
    name = city_gateways.payment_gateway(
        p.uow(), city_id, requested, p.payment_gateways, p.payment_gateway.name
    )
    return p.payment_gateways[name]


class TopUp(RequestModel):
    amount_minor: TopUpAmount
    currency: Currency = "CNY"
    idempotency_key: IdempotencyKey
    city_id: CityId | None = Field(
        None, description="the city the rider is in: its gateways are offered"
    )
    gateway: GatewayName | None = Field(
        None, description="one the city offers; none: its default (the platform's, no city)"
    )

    def command(self, rider_id: UUID) -> StartTopUp:
        return StartTopUp(rider_id, self.amount_minor, self.currency, self.idempotency_key)


@blueprint.post(
    "/wallet/top-ups",
    **RIDER_ONLY,
    responses={201: Order, **SIGNED_IN, **CONFLICT, **UNAVAILABLE},
)
@signed_in(Role.RIDER)
def top_up(body: TopUp) -> tuple[dict[str, Any], int]:
    """Order a top-up at the gateway asked for (one `city_id` offers; none: the city's
    default, or the platform's without a city); the rider pays at its `pay_url`. 400
    `gateway_not_offered`."""
    p = platform()
    gateway = _chosen_gateway(body.city_id, body.gateway)
    command = body.command(current_user_id())
    notify_url, rules = _notify_url(gateway.name), p.config.payment_order_rules()
    order = payments.start_top_up(p.uow(), gateway, command, notify_url, p.now(), rules)
    return order_answer(order).json(), 201


class Deposit(RequestModel):
    city_id: CityId
    kind: AssetKind
    idempotency_key: IdempotencyKey
    gateway: GatewayName | None = Field(None, description="one the city offers; none: its default")

    def command(self, rider_id: UUID) -> StartDeposit:
        return StartDeposit(rider_id, self.city_id, self.kind, self.idempotency_key)


@blueprint.post(
    "/deposits",
    **RIDER_ONLY,
    responses={201: Order, **SIGNED_IN, **NOT_FOUND, **CONFLICT, **UNAVAILABLE},
)
@signed_in(Role.RIDER)
def pay_deposit(body: Deposit) -> tuple[dict[str, Any], int]:
    """Order the deposit the city's plan asks for this kind, at the gateway asked for (one
    the city offers; none: its default). 400 `gateway_not_offered`."""
    p = platform()
    gateway = _chosen_gateway(body.city_id, body.gateway)
    command = body.command(current_user_id())
    notify_url, rules = _notify_url(gateway.name), p.config.payment_order_rules()
    order = payments.start_deposit(p.uow(), gateway, command, notify_url, p.now(), rules)
    return order_answer(order).json(), 201


class DepositRefund(RequestModel):
    currency: Currency = "CNY"
    idempotency_key: IdempotencyKey

    def command(self, rider_id: UUID) -> RefundDeposit:
        return RefundDeposit(rider_id, self.currency, self.idempotency_key)


class RefundAnswer(AnswerModel):
    id: UUID
    payment_id: UUID
    amount_minor: int
    state: RefundState


class Refunds(AnswerModel):
    refunds: list[RefundAnswer]


def refund_answer(refund: Refund) -> RefundAnswer:
    return RefundAnswer(
        id=refund.id,
        payment_id=refund.order_id,
        amount_minor=refund.amount_minor,
        state=refund.state,
    )


@blueprint.post(
    "/deposits/refunds",
    **RIDER_ONLY,
    responses={202: Refunds, **SIGNED_IN, **CONFLICT, **UNAVAILABLE},
)
@signed_in(Role.RIDER)
def refund_deposit(body: DepositRefund) -> tuple[dict[str, Any], int]:
    """Give the rider's deposit back through the gateways that took it, once no rental or
    debt is open."""
    p = platform()
    command = body.command(current_user_id())
    given_back = refunds.refund_deposit(p.uow(), p.payment_gateways, command, _notify_url)
    return Refunds(refunds=[refund_answer(refund) for refund in given_back]).json(), 202


@blueprint.get("/deposits/refunds", **RIDER_ONLY, responses={200: Refunds, **SIGNED_IN})
@signed_in(Role.RIDER)
def deposit_refunds() -> dict[str, Any]:
    """The rider's deposit refunds, newest first (at most 20), each `processing` until its
    gateway answers, then `succeeded` or `failed` (the money is back in the deposit)."""
    given_back = refunds.deposit_refunds(platform().uow(), current_user_id())
    return Refunds(refunds=[refund_answer(refund) for refund in given_back]).json()


WithdrawalAmount = Annotated[
    int,
    Strict(),
    Field(gt=0, le=MAX_TOP_UP_MINOR, description="minor units"),
    explained(f"amount_minor must be an integer from 1 to {MAX_TOP_UP_MINOR}", "invalid_amount"),
    BeforeValidator(whole),
]


class Withdrawal(RequestModel):
    amount_minor: WithdrawalAmount
    currency: Currency = "CNY"
    idempotency_key: IdempotencyKey

    def command(self, rider_id: UUID) -> Withdraw:
        return Withdraw(rider_id, self.amount_minor, self.currency, self.idempotency_key)


@blueprint.post(
    "/wallet/withdrawals",
    **RIDER_ONLY,
    responses={202: Refunds, **SIGNED_IN, **CONFLICT, **UNAVAILABLE},
)
@signed_in(Role.RIDER)
def withdraw(body: Withdrawal) -> tuple[dict[str, Any], int]:
    """Pay `amount_minor` of the wallet back to the rider's original payment method: one
    refund per top-up it comes from, each through the gateway that took it, newest first.
    409 `insufficient_balance` beyond the wallet, `refund_manual` beyond what top-ups paid
    in, `rental_in_progress` or `debt_outstanding`; a repeat answers the first request."""
    p = platform()
    command = body.command(current_user_id())
    given_back = refunds.withdraw(
        p.uow(), p.payment_gateways, command, _notify_url, p.config.WALLET_FLOOR_MINOR
    )
    return Refunds(refunds=[refund_answer(refund) for refund in given_back]).json(), 202


class PaymentPath(RequestModel):
    order_id: UUID


@blueprint.get(
    "/payments/<order_id>", **RIDER_ONLY, responses={200: Order, **SIGNED_IN, **NOT_FOUND}
)
@signed_in(Role.RIDER)
def show_payment(path: PaymentPath) -> dict[str, Any]:
    """One of the rider's payment orders."""
    order = payments.rider_order(platform().uow(), current_user_id(), path.order_id)
    return order_answer(order).json()


class GatewayPath(RequestModel):
    gateway: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,23}$", description="e.g. `sandbox`")


class SignedNotification(RawModel):
    """The gateway's own signed body, read as sent: only its signature makes it true.
    Alipay posts a form, WeChat Pay and Stripe JSON."""

    mimetypes = ["application/json", "application/x-www-form-urlencoded"]  # noqa: RUF012 (flask-openapi3 reads it so)


class Acknowledged(AnswerModel):
    result: str


@blueprint.post(
    "/payments/notify/<gateway>",
    responses={200: Acknowledged, 204: None, **NOT_FOUND},
)
def gateway_notification(path: GatewayPath, raw: SignedNotification) -> Response:
    """A payment gateway's notification (not for riders): believed only through its
    signature, which covers the raw body and headers (400 `invalid_signature`), and only
    when it matches its order: 400 `amount_mismatch`, `trade_mismatch` (not the order's
    trade), `trade_not_confirmed` (the gateway, asked, does not confirm the trade), 404
    `payment_not_found`; 503 `gateway_unavailable` when the trade cannot be confirmed now
    (the gateway retries). Taken (or a repeat), it is answered as its provider expects,
    so it stops retrying: the sandbox `{"result": "success"}`, Alipay the text `success`,
    WeChat Pay 204, Stripe 200."""
    p = platform()
    command = GatewayNotification(path.gateway, dict(raw.headers), raw.get_data())
    gateway = payments.handle_notification(
        p.uow(), p.payment_gateways, command, p.now(), p.config.WALLET_FLOOR_MINOR
    )
    answer = gateway.acknowledgement()
    return Response(answer.body, status=answer.status, content_type=answer.content_type)
