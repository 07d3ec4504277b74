"""Deposits given back, each part through the gateway that took it, and the gateways' word
on each refund, in memory."""

import uuid

import pytest

from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import AssetKind
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account
from rental.domain.payments import OrderState, PaymentOrder, Refund, RefundState
from rental.domain.riders import User
from rental.services import payments, refunds
from rental.services.commands.money import RefundDeposit, StartDeposit
from rental.services.ports import Notification
from rental.services.wallet import charge_fare
from tests.unit.fakes import FakePaymentGateway
from tests.unit.fakes.world import BIKE_PRICE, CITY, CURRENCY, World

FIRST, SECOND = 20_000, 9_900
Gateways = dict[str, FakePaymentGateway]


def notify_url(gateway: str) -> str:
    return f"https://rental.example/api/v1/payments/notify/{gateway}"


def pay_deposit(world: World, gateway: FakePaymentGateway, rider: User, key: str) -> None:
    command = StartDeposit(rider.id, CITY, AssetKind.BIKE, key)
    order = payments.start_deposit(
        world.uow(), gateway, command, notify_url(gateway.name), world.now
    )
    values = {
        "event": "payment.succeeded",
        "trade_no": order.trade_no,
        "reference": order.id,
        "amount_minor": order.amount_minor,
        "currency": order.currency,
    }
    gateways = {gateway.name: gateway}
    payments.handle_notification(world.uow(), gateways, gateway.posted(values), world.now, 0)


def gateway_says(world: World, gateways: Gateways, name: str, refund_: Refund, event: str) -> None:
    values = {
        "event": event,
        "trade_no": world.store.payment_orders[refund_.order_id].trade_no,
        "reference": refund_.id,
        "amount_minor": refund_.amount_minor,
        "currency": CURRENCY,
    }
    command = gateways[name].posted(values)
    payments.handle_notification(world.uow(), gateways, command, world.now, 0)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def gateways() -> Gateways:
    return {"alipay": FakePaymentGateway("alipay"), "wechat": FakePaymentGateway("wechat")}


@pytest.fixture
def rider(world, gateways):
    """A rider whose deposit was paid in two parts: first through alipay, then, once the
    plan asked for more, through wechat."""
    rider = world.rider()
    world.publish("bike", BIKE_PRICE, deposit_minor=FIRST)
    pay_deposit(world, gateways["alipay"], rider, "deposit-1")
    world.publish("bike", BIKE_PRICE, deposit_minor=FIRST + SECOND)
    pay_deposit(world, gateways["wechat"], rider, "deposit-2")
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == FIRST + SECOND
    return rider


def refund(world: World, gateways: Gateways, rider: User, key: str = "refund-0001") -> list[Refund]:
    command = RefundDeposit(rider.id, CURRENCY, key)
    return refunds.refund_deposit(world.uow(), gateways, command, notify_url)


def test_each_part_of_a_deposit_goes_back_through_the_gateway_that_took_it(world, gateways, rider):
    given = refund(world, gateways, rider)

    by_gateway = {
        name: [(r.id, r.amount_minor, o.gateway, url) for r, o, url in gateway.refunds]
        for name, gateway in gateways.items()
    }
    amounts = {r.id: r.amount_minor for r in given}
    assert sorted(amounts.values()) == [SECOND, FIRST]
    assert [(amount, gw) for _, amount, gw, _ in by_gateway["alipay"]] == [(FIRST, "alipay")]
    assert [(amount, gw) for _, amount, gw, _ in by_gateway["wechat"]] == [(SECOND, "wechat")]
    assert by_gateway["wechat"][0][3] == notify_url("wechat")
    assert all(r.state is RefundState.PROCESSING for r in given)
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == 0
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == FIRST + SECOND
    orders = world.store.payment_orders.values()
    assert sorted(o.refunded_minor for o in orders) == [SECOND, FIRST]


def test_a_repeated_refund_request_answers_the_first_and_asks_no_gateway_again(
    world, gateways, rider
):
    first = refund(world, gateways, rider)
    again = refund(world, gateways, rider)
    assert sorted(r.id for r in again) == sorted(r.id for r in first)
    assert [len(g.refunds) for g in gateways.values()] == [1, 1]


def test_the_gateways_word_settles_each_refund_once(world, gateways, rider):
    given = {r.amount_minor: r for r in refund(world, gateways, rider)}
    paid_back, refused = given[FIRST], given[SECOND]
    orders = {o.gateway: o for o in world.store.payment_orders.values()}

    for _ in range(2):
        gateway_says(world, gateways, "alipay", paid_back, "refund.succeeded")
        gateway_says(world, gateways, "wechat", refused, "refund.failed")

    states = {r.id: r.state for r in world.store.refunds.values()}
    assert states == {paid_back.id: RefundState.SUCCEEDED, refused.id: RefundState.FAILED}
    # Paid back: the money left through the gateway. Refused: the deposit is held again.
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == SECOND
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == 0
    assert world.platform_balance(AccountKind.GATEWAY_CLEARING) == -SECOND
    assert world.store.payment_orders[orders["wechat"].id].refunded_minor == 0
    assert world.store.payment_orders[orders["alipay"].id].refunded_minor == FIRST


def test_a_gateway_that_refuses_or_is_missing_returns_its_part_at_once(world, gateways, rider):
    gateways["wechat"].fail = True
    only_alipay = {"alipay": gateways["alipay"]}  # and wechat down
    given = refund(world, gateways, rider)
    states = {r.amount_minor: r.state for r in given}
    assert states == {FIRST: RefundState.PROCESSING, SECOND: RefundState.FAILED}
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == SECOND

    # Asked again (another key): wechat's part goes to a gateway no longer configured.
    again = refund(world, only_alipay, rider, key="refund-0002")
    assert [(r.amount_minor, r.state) for r in again] == [(SECOND, RefundState.FAILED)]
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == SECOND
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == FIRST


def test_no_refund_during_a_rental_with_a_debt_or_without_a_deposit(world, gateways, rider):
    rental = world.scan(rider, world.bike())
    with pytest.raises(Conflict) as riding:
        refund(world, gateways, rider)
    assert riding.value.code == "rental_in_progress"
    assert rental.unlock_command_id is not None

    indebted = world.rider()
    with world.uow() as unit:
        charge_fare(unit, indebted.id, CURRENCY, 300, "fare:unpaid", wallet_floor_minor=0)
        unit.commit()
    with pytest.raises(Conflict) as owing:
        refund(world, gateways, indebted)
    assert owing.value.code == "debt_outstanding"

    with pytest.raises(Conflict) as nothing:
        refund(world, gateways, world.rider())
    assert nothing.value.code == "no_deposit"
    assert [g.refunds for g in gateways.values()] == [[], []]


def test_a_deposit_not_paid_through_a_gateway_is_left_to_support(world, gateways):
    rider = world.rider()
    with world.uow() as unit:  # credited by hand, say by support
        held = rider_account(AccountKind.RIDER_DEPOSIT, str(rider.id), CURRENCY)
        promotions = AccountRef(AccountKind.PROMOTIONS, CURRENCY)
        unit.ledger.post("deposit", "manual:1", [Posting(promotions, -500), Posting(held, 500)])
        unit.commit()
    with pytest.raises(Conflict) as manual:
        refund(world, gateways, rider)
    assert manual.value.code == "refund_manual"
    assert world.balance(rider, AccountKind.RIDER_DEPOSIT) == 500
    assert world.store.refunds == {}


def said(refund_: Refund, order: PaymentOrder, **change) -> Notification:
    values = {
        "event": "refund.succeeded",
        "trade_no": order.trade_no,
        "reference": str(refund_.id),
        "amount_minor": refund_.amount_minor,
        "currency": order.currency,
        **change,
    }
    return Notification(**values)


def test_a_refund_notification_must_match_its_trade_amount_and_exist(world, gateways, rider):
    given = refund(world, gateways, rider)
    order = world.store.payment_orders[given[0].order_id]
    gateway = order.gateway
    for change, code in (
        ({"amount_minor": given[0].amount_minor + 1}, "amount_mismatch"),
        ({"currency": "USD"}, "amount_mismatch"),
        ({"trade_no": "T-NOT-REAL"}, "trade_mismatch"),
    ):
        with pytest.raises(InvalidInput) as mismatch:
            refunds.apply_refund(
                world.uow(), gateway, given[0].id, said(given[0], order, **change), True
            )
        assert mismatch.value.code == code
    assert world.store.refunds[given[0].id].state is RefundState.PROCESSING
    with pytest.raises(NotFound) as missing:
        refunds.apply_refund(world.uow(), gateway, uuid.uuid4(), said(given[0], order), True)
    assert missing.value.code == "payment_not_found"
    with pytest.raises(NotFound) as stranger:  # only the gateway that took the money
        refunds.apply_refund(world.uow(), "another", given[0].id, said(given[0], order), True)
    assert stranger.value.code == "payment_not_found"
    assert world.store.refunds[given[0].id].state is RefundState.PROCESSING
    assert {o.state for o in world.store.payment_orders.values()} == {OrderState.PAID}
    refunds.apply_refund(world.uow(), gateway, given[0].id, said(given[0], order), True)
    assert world.store.refunds[given[0].id].state is RefundState.SUCCEEDED


def test_a_rider_sees_their_own_deposit_refunds_in_their_gateways_state(world, gateways, rider):
    given = {r.amount_minor: r for r in refund(world, gateways, rider)}
    other = world.rider()
    assert refunds.deposit_refunds(world.uow(), rider.id) == [given[SECOND], given[FIRST]]

    gateway_says(world, gateways, "alipay", given[FIRST], "refund.succeeded")
    gateway_says(world, gateways, "wechat", given[SECOND], "refund.failed")

    shown = [(r.amount_minor, r.state) for r in refunds.deposit_refunds(world.uow(), rider.id)]
    assert shown == [(SECOND, RefundState.FAILED), (FIRST, RefundState.SUCCEEDED)]
    assert refunds.deposit_refunds(world.uow(), other.id) == []
