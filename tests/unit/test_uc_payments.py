"""Top-ups and deposits paid through a gateway, and the gateways' notifications believed
only when signed and matching the order's amount and currency, each moving money once,
in memory."""

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from rental.domain.errors import (
    Conflict,
    InvalidInput,
    LimitReached,
    NotFound,
    RentalError,
    Unavailable,
)
from rental.domain.fair_use import PaymentOrderRules
from rental.domain.fleet import AssetKind
from rental.domain.ledger import AccountKind
from rental.domain.payments import OrderState, PaymentOrder, Purpose
from rental.domain.riders import User
from rental.services import payments
from rental.services.commands.money import StartDeposit, StartTopUp
from rental.services.wallet import charge_fare
from tests.unit.fakes import FakePaymentGateway
from tests.unit.fakes.world import BIKE_PRICE, CITY, CURRENCY, World

NOTIFY_URL = "https://rental.example/api/v1/payments/notify/alipay"
DEPOSIT = 29_900


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def alipay() -> FakePaymentGateway:
    return FakePaymentGateway("alipay")


def top_up(
    world: World,
    gateway: FakePaymentGateway,
    rider: User,
    amount: int = 2000,
    key: str = "topup-0001",
) -> PaymentOrder:
    command = StartTopUp(rider.id, amount, CURRENCY, key)
    return payments.start_top_up(world.uow(), gateway, command, NOTIFY_URL, world.now)


def deposit(
    world: World, gateway: FakePaymentGateway, rider: User, key: str = "deposit-0001"
) -> PaymentOrder:
    command = StartDeposit(rider.id, CITY, AssetKind.BIKE, key)
    return payments.start_deposit(world.uow(), gateway, command, NOTIFY_URL, world.now)


def notify(
    world,
    gateways,
    order: PaymentOrder,
    event="payment.succeeded",
    *,
    amount=None,
    currency=None,
    reference=None,
    signed_by=None,
    posted_to=None,
    trade_no=None,
    floor=0,
):
    """The gateway that took the order tells us about it (or says so, signed by another)."""
    signer = gateways[signed_by or order.gateway]
    values = {
        "event": event,
        "trade_no": trade_no or order.trade_no,
        "reference": reference or order.id,
        "amount_minor": order.amount_minor if amount is None else amount,
        "currency": currency or order.currency,
    }
    command = signer.posted(values, to=posted_to or order.gateway)
    at = world.now + timedelta(minutes=1)
    return payments.handle_notification(world.uow(), gateways, command, at, floor)


def order_of(world: World, order: PaymentOrder) -> PaymentOrder:
    return payments.rider_order(world.uow(), order.rider_id, order.id)


def test_a_top_up_opens_an_order_at_the_gateway(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    assert (order.state, order.purpose, order.amount_minor, order.gateway) == (
        OrderState.PENDING,
        Purpose.TOP_UP,
        2000,
        "alipay",
    )
    assert order.trade_no == f"alipay-{order.id.hex[:16]}"
    assert order.pay_url == f"https://pay.example/alipay/{order.trade_no}"
    assert [(sent.id, url) for sent, url in alipay.orders] == [(order.id, NOTIFY_URL)]
    assert order_of(world, order) == order


def test_repeating_a_top_up_request_returns_the_first_order(world, alipay):
    rider = world.rider()
    first = top_up(world, alipay, rider)
    again = top_up(world, alipay, rider)
    assert again == first
    assert len(alipay.orders) == 1


def test_a_gateway_that_does_not_answer_is_unavailable_and_the_order_fails(world):
    rider = world.rider()
    down = FakePaymentGateway("alipay", fail=True)
    with pytest.raises(Unavailable) as refused:
        top_up(world, down, rider)
    assert refused.value.code == "gateway_unavailable"
    [order] = world.store.payment_orders.values()
    assert order.state is OrderState.FAILED and order.trade_no is None
    assert world.balance(rider) == 0


def test_a_top_up_is_credited_once_although_the_gateway_notifies_three_times(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    gateways = {"alipay": alipay}
    for _ in range(3):
        notify(world, gateways, order)
    paid = order_of(world, order)
    assert (paid.state, paid.paid_at) == (OrderState.PAID, world.now + timedelta(minutes=1))
    assert world.balance(rider) == 2000
    assert world.platform_balance(AccountKind.GATEWAY_CLEARING) == -2000


def test_a_stale_failure_after_the_success_changes_nothing(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider, amount=1500)
    gateways = {"alipay": alipay}
    notify(world, gateways, order)
    notify(world, gateways, order, "payment.failed")
    assert order_of(world, order).state is OrderState.PAID
    assert world.balance(rider) == 1500


def test_a_failure_then_a_late_success_credits_once(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider, amount=800)
    gateways = {"alipay": alipay}
    notify(world, gateways, order, "payment.failed")
    assert order_of(world, order).state is OrderState.FAILED
    assert world.balance(rider) == 0
    notify(world, gateways, order)
    notify(world, gateways, order)
    assert order_of(world, order).state is OrderState.PAID
    assert world.balance(rider) == 800


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"amount": 2001}, InvalidInput, "amount_mismatch"),
        ({"currency": "USD"}, InvalidInput, "amount_mismatch"),
        ({"signed_by": "wechat"}, InvalidInput, "invalid_signature"),  # posted as alipay's
        ({"posted_to": "paypal"}, NotFound, "gateway_not_found"),
        ({"event": "payment.refunded"}, InvalidInput, "unknown_event"),
        ({"reference": uuid.uuid4()}, NotFound, "payment_not_found"),
        ({"reference": "order-1"}, NotFound, "payment_not_found"),
        ({"trade_no": "T-NOT-REAL"}, InvalidInput, "trade_mismatch"),
    ],
)
def test_forged_mismatched_and_stray_notifications_credit_nothing(
    world, alipay, change, error, code
):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    gateways = {"alipay": alipay, "wechat": FakePaymentGateway("wechat")}
    with pytest.raises(error) as refused:
        notify(world, gateways, order, **change)
    assert refused.value.code == code
    assert order_of(world, order).state is OrderState.PENDING
    assert world.balance(rider) == 0


def forget_trade(world: World, order: PaymentOrder) -> None:
    """As when the gateway's answer to opening the order never reached us."""
    with world.uow() as uow:
        stored = uow.payments.order(order.id, for_update=True)
        assert stored is not None
        stored.trade_no = None
        uow.payments.save_order(stored)
        uow.commit()


def test_the_first_news_of_a_trade_is_believed_only_when_the_gateway_confirms_it(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    forget_trade(world, order)
    gateways = {"alipay": alipay}
    with pytest.raises(InvalidInput) as never_issued:
        notify(world, gateways, order, trade_no="T-NOT-REAL")
    assert never_issued.value.code == "trade_not_confirmed"
    other = top_up(world, alipay, rider, key="topup-0002")  # a real trade, of another order
    with pytest.raises(InvalidInput):
        notify(world, gateways, order, trade_no=other.trade_no)
    assert (order_of(world, order).state, world.balance(rider)) == (OrderState.PENDING, 0)
    notify(world, gateways, order, trade_no=order.trade_no)
    assert order_of(world, order).trade_no == order.trade_no
    assert world.balance(rider) == order.amount_minor


def test_a_trade_the_gateway_has_not_been_paid_for_credits_nothing(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    with pytest.raises(InvalidInput) as refused:
        # Signed, but the gateway's own record says nobody paid.
        payments.handle_notification(
            world.uow(),
            {"alipay": alipay},
            alipay.posted_unrecorded(order, "payment.succeeded"),
            world.now,
            0,
        )
    assert refused.value.code == "trade_not_confirmed"
    assert world.balance(rider) == 0


def test_repeats_of_a_confirmed_payment_ask_the_gateway_no_more(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    for _ in range(3):
        notify(world, {"alipay": alipay}, order)
    assert alipay.queried == [order.trade_no]
    assert world.balance(rider) == order.amount_minor


def test_a_payment_the_gateway_cannot_confirm_now_is_left_for_its_retry(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    alipay.fail = True
    with pytest.raises(Unavailable):
        notify(world, {"alipay": alipay}, order)
    alipay.fail = False
    notify(world, {"alipay": alipay}, order)
    assert world.balance(rider) == order.amount_minor


def test_a_notification_is_believed_only_from_the_gateway_that_took_the_order(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    gateways = {"alipay": alipay, "wechat": FakePaymentGateway("wechat")}
    # Signed by wechat and posted to wechat's address, about an order alipay took.
    with pytest.raises(RentalError):
        notify(world, gateways, order, signed_by="wechat", posted_to="wechat")
    assert order_of(world, order).state is OrderState.PENDING
    assert world.balance(rider) == 0


@pytest.mark.parametrize(
    ("floor", "debt_left", "wallet"),
    [(0, 0, 1000 - 300), (200, 0, 1000 - 300), (900, 200, 900)],
    ids=["no floor", "floor below what is left", "floor reached"],
)
def test_a_top_up_pays_the_debt_first_down_to_the_wallet_floor(
    world, alipay, floor, debt_left, wallet
):
    rider = world.rider()
    with world.uow() as unit:
        charge_fare(unit, rider.id, CURRENCY, 300, "fare:unpaid", wallet_floor_minor=0)
        unit.commit()
    order = top_up(world, alipay, rider, amount=1000)
    notify(world, {"alipay": alipay}, order, floor=floor)
    assert (world.debt(rider), world.balance(rider)) == (debt_left, wallet)


def test_a_deposit_asks_what_the_plan_wants_beyond_what_is_held(world, alipay):
    world.publish("bike", BIKE_PRICE, deposit_minor=DEPOSIT)
    rider = world.rider()
    order = deposit(world, alipay, rider)
    assert (order.purpose, order.amount_minor, order.currency) == (
        Purpose.DEPOSIT,
        DEPOSIT,
        CURRENCY,
    )
    assert deposit(world, alipay, rider) == order  # the same key: the same order
    notify(world, {"alipay": alipay}, order)
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == DEPOSIT
    assert world.balance(rider) == 0  # a deposit is no spending money
    # Retried once paid, the request still answers its order rather than "held".
    assert deposit(world, alipay, rider).state is OrderState.PAID

    with pytest.raises(Conflict) as held:
        deposit(world, alipay, rider, key="deposit-0002")
    assert held.value.code == "deposit_held"

    world.publish("bike", BIKE_PRICE, deposit_minor=DEPOSIT + 10_000)
    assert deposit(world, alipay, rider, key="deposit-0003").amount_minor == 10_000


def test_a_paid_deposit_leaves_the_debt_and_the_wallet_as_they_are(world, alipay):
    world.publish("bike", BIKE_PRICE, deposit_minor=DEPOSIT)
    rider = world.rider(credit_minor=1000)
    with world.uow() as unit:  # 100 spent down to a floor of 900, 200 owed
        charge_fare(unit, rider.id, CURRENCY, 300, "fare:unpaid", wallet_floor_minor=900)
        unit.commit()
    notify(world, {"alipay": alipay}, deposit(world, alipay, rider))
    assert (world.debt(rider), world.balance(rider)) == (200, 900)
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == DEPOSIT
    assert world.score(rider) == 600  # no payment of what was owed


def test_no_deposit_is_asked_where_the_plan_wants_none(world, alipay):
    rider = world.rider()
    with pytest.raises(NotFound) as none:
        deposit(world, alipay, rider)
    assert none.value.code == "no_deposit_needed"
    assert alipay.orders == []


def test_a_rider_sees_only_their_own_orders(world, alipay):
    rider, other = world.rider(), world.rider()
    order = top_up(world, alipay, rider)
    assert payments.rider_order(world.uow(), rider.id, None, "topup-0001") == order
    for rider_id, order_id, key in ((other.id, order.id, None), (other.id, None, "topup-0001")):
        with pytest.raises(NotFound) as hidden:
            payments.rider_order(world.uow(), rider_id, order_id, key)
        assert hidden.value.code == "payment_not_found"


# --- fair use: a few orders waiting at a time, each for a while ---------------------------

WAIT = PaymentOrderRules().pending_for


def refused_order(world: World, start: Callable[[], PaymentOrder]) -> LimitReached:
    with pytest.raises(LimitReached) as refused:
        start()
    assert refused.value.code == "too_many_open_payments"
    return refused.value


def test_a_rider_has_at_most_three_orders_waiting_for_their_payment(world, alipay):
    world.publish("bike", BIKE_PRICE, deposit_minor=DEPOSIT)
    rider, other = world.rider(), world.rider()
    first_at = world.now
    waiting = [top_up(world, alipay, rider, key="topup-0001")]
    world.now += timedelta(minutes=5)
    waiting += [top_up(world, alipay, rider, key=f"topup-000{n}") for n in (2, 3)]

    refusal = refused_order(world, lambda: top_up(world, alipay, rider, key="topup-0004"))
    # Deposits wait at the same gateway: they count and are refused alike.
    refused_order(world, lambda: deposit(world, alipay, rider))
    assert refusal.retry_at == first_at + WAIT  # when the oldest stops waiting
    assert refusal.retry_after_seconds == (WAIT - timedelta(minutes=5)).total_seconds()
    assert "3 payments waiting" in refusal.message
    assert len(alipay.orders) == 3 and len(world.store.payment_orders) == 3
    # A retried request is answered with its order; another rider has orders of their own.
    assert top_up(world, alipay, rider, key="topup-0002") == waiting[1]
    assert top_up(world, alipay, other, key="topup-0004").state is OrderState.PENDING

    notify(world, {"alipay": alipay}, waiting[0])  # paying one frees its place
    assert top_up(world, alipay, rider, key="topup-0004").state is OrderState.PENDING


def test_orders_that_failed_at_the_gateway_do_not_count(world, alipay):
    rider = world.rider()
    down = FakePaymentGateway("alipay", fail=True)
    for n in range(3):
        with pytest.raises(Unavailable):
            top_up(world, down, rider, key=f"down-{n:04d}")
    assert top_up(world, alipay, rider).state is OrderState.PENDING


def test_the_limit_of_orders_waiting_is_a_setting(world, alipay):
    rider = world.rider()
    one = PaymentOrderRules(open_orders=1, pending_for=timedelta(minutes=5))
    command = StartTopUp(rider.id, 2000, CURRENCY, "topup-0001")
    order = payments.start_top_up(world.uow(), alipay, command, NOTIFY_URL, world.now, one)
    assert order.expires_at == world.now + timedelta(minutes=5)
    second = StartTopUp(rider.id, 2000, CURRENCY, "topup-0002")
    refusal = refused_order(
        world,
        lambda: payments.start_top_up(world.uow(), alipay, second, NOTIFY_URL, world.now, one),
    )
    assert refusal.retry_at == world.now + timedelta(minutes=5)


def test_an_order_nobody_paid_in_time_expires_and_stops_counting(world, alipay):
    rider = world.rider()
    stale = [top_up(world, alipay, rider, key=f"topup-000{n}") for n in (1, 2, 3)]
    world.now += WAIT
    # They stop counting when their time is up, before the sweeper marks them.
    fresh = top_up(world, alipay, rider, key="topup-0004")
    assert fresh.state is OrderState.PENDING

    assert payments.expire_orders(world.uow(), world.now) == 3
    assert payments.expire_orders(world.uow(), world.now) == 0
    assert [order_of(world, order).state for order in [*stale, fresh]] == [
        *[OrderState.EXPIRED] * 3,
        OrderState.PENDING,
    ]
    assert world.balance(rider) == 0


def test_a_payment_confirmed_after_its_order_expired_is_still_credited_once(world, alipay):
    rider = world.rider()
    late, declined = (top_up(world, alipay, rider, key=f"topup-000{n}") for n in (1, 2))
    world.now += WAIT
    payments.expire_orders(world.uow(), world.now)
    gateways = {"alipay": alipay}

    for _ in range(2):
        notify(world, gateways, late)
    notify(world, gateways, declined, "payment.failed")

    assert order_of(world, late).state is OrderState.PAID
    assert order_of(world, declined).state is OrderState.FAILED
    assert world.balance(rider) == 2000
    assert world.platform_balance(AccountKind.GATEWAY_CLEARING) == -2000


def test_an_event_the_platform_does_not_act_on_is_acknowledged_and_moves_nothing(world, alipay):
    rider = world.rider()
    order = top_up(world, alipay, rider)
    answered = notify(world, {"alipay": alipay}, order, "other.payment_intent.created")
    assert answered is alipay  # its acknowledgement is what the provider hears
    assert alipay.queried == []
    assert order_of(world, order).state is OrderState.PENDING
    assert world.balance(rider) == 0
