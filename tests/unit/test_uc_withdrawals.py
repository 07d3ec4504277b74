"""Withdrawals of the wallet's balance, paid back to the rider's original payment method as
refunds of their top-ups through the gateways that took them, in memory."""

from dataclasses import replace

import pytest

from rental.domain.errors import Conflict
from rental.domain.idempotency import KeyReused
from rental.domain.ledger import AccountKind
from rental.domain.payments import PaymentOrder, RefundState
from rental.domain.riders import User
from rental.services import payments, refunds
from rental.services.commands.money import StartTopUp, Withdraw
from rental.services.wallet import books
from tests.unit.fakes import FakePaymentGateway
from tests.unit.fakes.world import CURRENCY, World

Gateways = dict[str, FakePaymentGateway]


def notify_url(gateway: str) -> str:
    return f"https://rental.example/api/v1/payments/notify/{gateway}"


def top_up(world: World, gateway: FakePaymentGateway, rider: User, amount: int, key: str) -> None:
    command = StartTopUp(rider.id, amount, CURRENCY, key)
    order = payments.start_top_up(
        world.uow(), gateway, command, notify_url(gateway.name), world.now
    )
    say(world, gateway, order, "payment.succeeded", order.trade_no, order.id, amount)


def say(world, gateway, order: PaymentOrder, event, trade_no, reference, amount) -> None:
    values = {
        "event": event,
        "trade_no": trade_no,
        "reference": reference,
        "amount_minor": amount,
        "currency": CURRENCY,
    }
    command = gateway.posted(values)
    payments.handle_notification(world.uow(), {gateway.name: gateway}, command, world.now, 0)


def withdraw(world, gateways, rider, amount, key="withdraw-0001", floor=0):
    command = Withdraw(rider.id, amount, CURRENCY, key)
    return refunds.withdraw(world.uow(), gateways, command, notify_url, floor)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def gateways() -> Gateways:
    return {"alipay": FakePaymentGateway("alipay"), "wechat": FakePaymentGateway("wechat")}


@pytest.fixture
def rider(world, gateways):
    """Topped up 3000 through alipay, then 1000 through wechat."""
    rider = world.rider()
    top_up(world, gateways["alipay"], rider, 3000, "top-up-1")
    top_up(world, gateways["wechat"], rider, 1000, "top-up-2")
    assert world.balance(rider) == 4000
    return rider


def orders_of(world: World) -> dict[str, PaymentOrder]:
    return {order.gateway: order for order in world.store.payment_orders.values()}


def test_a_withdrawal_goes_back_through_the_newest_top_ups_first(world, gateways, rider):
    given = withdraw(world, gateways, rider, 2500)
    asked = {
        name: [(r.amount_minor, o.gateway) for r, o, _ in g.refunds] for name, g in gateways.items()
    }
    assert asked == {"wechat": [(1000, "wechat")], "alipay": [(1500, "alipay")]}
    assert sorted(r.amount_minor for r in given) == [1000, 1500]
    assert world.balance(rider) == 1500
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == 2500
    assert books(world.uow()).balanced


def test_the_gateways_word_settles_a_withdrawal_once_in_any_order(world, gateways, rider):
    given = {r.amount_minor: r for r in withdraw(world, gateways, rider, 2500)}
    orders = orders_of(world)
    wechat_part, alipay_part = given[1000], given[1500]
    # The refusal arrives first, then the success, each twice, and out of order.
    for _ in range(2):
        say(
            world,
            gateways["alipay"],
            orders["alipay"],
            "refund.failed",
            orders["alipay"].trade_no,
            alipay_part.id,
            1500,
        )
        say(
            world,
            gateways["wechat"],
            orders["wechat"],
            "refund.succeeded",
            orders["wechat"].trade_no,
            wechat_part.id,
            1000,
        )
    states = {r.amount_minor: r.state for r in world.store.refunds.values()}
    assert states == {1000: RefundState.SUCCEEDED, 1500: RefundState.FAILED}
    assert world.balance(rider) == 3000  # the refused part is back in the wallet
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == 0
    assert world.platform_balance(AccountKind.GATEWAY_CLEARING) == -3000
    assert world.store.payment_orders[orders["alipay"].id].refunded_minor == 0
    assert books(world.uow()).balanced


def test_a_repeated_withdrawal_answers_the_first_and_a_reused_key_is_refused(
    world, gateways, rider
):
    first = withdraw(world, gateways, rider, 500)
    again = withdraw(world, gateways, rider, 500)
    assert [r.id for r in again] == [r.id for r in first]
    assert world.balance(rider) == 3500
    with pytest.raises(KeyReused):
        withdraw(world, gateways, rider, 700)


@pytest.mark.parametrize(
    ("amount", "floor", "code"),
    [(4001, 0, "insufficient_balance"), (3901, 100, "insufficient_balance")],
)
def test_no_more_than_the_wallet_holds_above_its_floor_leaves(
    world, gateways, rider, amount, floor, code
):
    with pytest.raises(Conflict) as refused:
        withdraw(world, gateways, rider, amount, floor=floor)
    assert refused.value.code == code
    assert world.balance(rider) == 4000 and world.store.refunds == {}


def test_credit_given_by_the_platform_cannot_be_withdrawn(world, gateways):
    rider = world.rider(credit_minor=1000)  # a welcome credit, never paid in
    top_up(world, gateways["alipay"], rider, 500, "top-up-1")
    with pytest.raises(Conflict) as manual:
        withdraw(world, gateways, rider, 1200)
    assert manual.value.code == "refund_manual"
    assert world.balance(rider) == 1500 and world.store.refunds == {}
    assert len(withdraw(world, gateways, rider, 500, key="withdraw-0002")) == 1


def test_a_gateway_that_refuses_at_once_returns_the_money_to_the_wallet(world, gateways, rider):
    gateways["wechat"].fail = True
    given = withdraw(world, gateways, rider, 2500)
    assert {r.amount_minor: r.state for r in given} == {
        1000: RefundState.FAILED,
        1500: RefundState.PROCESSING,
    }
    assert world.balance(rider) == 2500
    assert books(world.uow()).balanced


def test_no_withdrawal_during_a_rental(world, gateways, rider):
    world.scan(rider, world.bike())
    with pytest.raises(Conflict) as riding:
        withdraw(world, gateways, rider, 100)
    assert riding.value.code == "rental_in_progress"


def test_a_refund_a_gateway_settles_in_its_answer_is_booked_at_once_and_once(world, rider):
    alipay = FakePaymentGateway("alipay", refunds_at_once=True)
    later = FakePaymentGateway("wechat")
    rider2 = world.rider()
    top_up(world, alipay, rider2, 2000, "top-up-a")
    top_up(world, later, rider2, 500, "top-up-b")
    given = withdraw(world, {"alipay": alipay, "wechat": later}, rider2, 1200, key="w-at-once")
    states = {r.amount_minor: r.state for r in world.store.refunds.values() if r in given}
    # wechat's 500 waits for its notification; alipay's 700 was settled in its answer
    assert states == {500: RefundState.PROCESSING, 700: RefundState.SUCCEEDED}
    order = next(
        o
        for o in world.store.payment_orders.values()
        if o.gateway == "alipay" and o.rider_id == rider2.id
    )
    alipay_part = next(r for r in given if r.amount_minor == 700)
    # Alipay's later word on the same refund changes nothing.
    say(world, alipay, order, "refund.succeeded", order.trade_no, alipay_part.id, 700)
    assert world.balance(rider2) == 1300
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == 500
    assert books(world.uow()).balanced


def test_a_settled_answer_that_does_not_match_its_refund_leaves_it_waiting(world, rider):
    class WrongAmount(FakePaymentGateway):
        def request_refund(self, refund, order, notify_url):
            settled = super().request_refund(refund, order, notify_url)
            assert settled is not None
            return replace(settled, amount_minor=settled.amount_minor + 1)

    alipay = WrongAmount("alipay", refunds_at_once=True)
    rider2 = world.rider()
    top_up(world, alipay, rider2, 2000, "top-up-a")
    (given,) = withdraw(world, {"alipay": alipay}, rider2, 800, key="w-wrong")
    assert world.store.refunds[given.id].state is RefundState.PROCESSING
    assert world.balance(rider2) == 1200
    assert world.platform_balance(AccountKind.REFUNDS_IN_FLIGHT) == 800
    assert books(world.uow()).balanced
