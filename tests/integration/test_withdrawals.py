"""Withdrawals on PostgreSQL: riders' concurrent requests never take more than the wallet
holds, each top-up is refunded at most what it paid, and the books balance throughout."""

from concurrent.futures import ThreadPoolExecutor

from rental.domain.errors import Conflict
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.payments import RefundState
from rental.services import payments, refunds
from rental.services.commands.money import StartTopUp, Withdraw
from rental.services.wallet import books
from tests.helpers import make_user
from tests.unit.fakes import FakePaymentGateway

NOTIFY = "https://rental.example/api/v1/payments/notify/fake"


def paid_top_up(platform, gateway, rider, amount: int, key: str) -> None:
    command = StartTopUp(rider.id, amount, "CNY", key)
    order = payments.start_top_up(platform.uow(), gateway, command, NOTIFY, platform.now())
    values = {
        "event": "payment.succeeded",
        "trade_no": order.trade_no,
        "reference": order.id,
        "amount_minor": amount,
        "currency": "CNY",
    }
    gateways = {gateway.name: gateway}
    payments.handle_notification(
        platform.uow(), gateways, gateway.posted(values), platform.now(), 0
    )


def test_concurrent_withdrawals_take_no_more_than_the_wallet_holds(platform):
    gateway = FakePaymentGateway()
    rider = make_user(platform)
    for number in range(2):
        paid_top_up(platform, gateway, rider, 2000, f"top-up-{number}")

    def withdraw(number: int) -> int:
        command = Withdraw(rider.id, 700, "CNY", f"withdraw-{number}")
        try:
            given = refunds.withdraw(
                platform.uow(), {gateway.name: gateway}, command, lambda name: NOTIFY, 0
            )
        except Conflict as refused:
            assert refused.code == "insufficient_balance"
            return 0
        return sum(refund.amount_minor for refund in given)

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = sum(pool.map(withdraw, range(10)))

    assert taken == 5 * 700  # 4000 held: five withdrawals of 700 fit, the sixth does not
    with platform.uow() as uow:
        wallet = AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id))
        assert uow.ledger.balance(wallet) == 4000 - taken
        in_flight = uow.ledger.balance(AccountRef(AccountKind.REFUNDS_IN_FLIGHT, "CNY"))
        assert in_flight == taken
    asked = [refund for refund, _, _ in gateway.refunds]
    assert sum(refund.amount_minor for refund in asked) == taken
    assert {refund.state for refund in asked} == {RefundState.PROCESSING}
    per_order: dict[object, int] = {}
    for refund, order, _ in gateway.refunds:
        per_order[order.id] = per_order.get(order.id, 0) + refund.amount_minor
    assert all(amount <= 2000 for amount in per_order.values())
    assert books(platform.uow()).balanced
