"""The rider's money in memory: spending down to the wallet floor, debt, what riders read of
their wallets and postings, and the books that prove it all."""

from datetime import timedelta

import pytest

from rental.domain.errors import InvalidInput
from rental.domain.ledger import AccountKind
from rental.domain.riders import User
from rental.services import accounts, wallet
from rental.services.read_models import AccountTotal
from tests.unit.fakes.world import CURRENCY, World


@pytest.fixture
def world() -> World:
    return World()


def charge(world: World, rider: User, fare: int, reference: str, floor: int = 0) -> int:
    with world.uow() as unit:
        owed = wallet.charge_fare(unit, rider.id, CURRENCY, fare, reference, floor)
        unit.commit()
    return owed


@pytest.mark.parametrize(
    ("floor", "owed"),
    [(0, 0), (300, 100), (-200, 0), (1000, 300)],
    ids=["no floor", "a floor above zero", "credit below zero", "nothing spendable"],
)
def test_a_fare_spends_the_wallet_down_to_its_floor_and_the_rest_is_debt(world, floor, owed):
    rider = world.rider(credit_minor=500)
    assert charge(world, rider, 300, "fare:1", floor) == owed
    assert world.debt(rider) == owed
    assert world.balance(rider) == 500 - (300 - owed)
    assert world.platform_balance(AccountKind.PLATFORM_REVENUE) == 300  # earned in full


def test_a_fare_is_booked_once_and_nothing_is_booked_for_nothing(world):
    rider = world.rider(credit_minor=500)
    charge(world, rider, 300, "fare:1")
    charge(world, rider, 300, "fare:1")
    assert charge(world, rider, 0, "fare:free") == 0
    assert world.balance(rider) == 200
    assert "fare:free" not in world.store.transactions


def test_a_rider_reads_a_summary_per_currency(world):
    rider = world.rider(credit_minor=500)
    accounts.grant_promotion(world.uow(), rider.id, "GBP", 1000, "welcome:london")
    charge(world, rider, 800, "fare:1")

    summaries = wallet.wallet_summaries(world.uow(), rider.id, wallet_floor_minor=400)

    assert summaries == [
        wallet.WalletSummary(
            "CNY", balance_minor=0, spendable_minor=0, deposit_minor=0, debt_minor=300
        ),
        wallet.WalletSummary(
            "GBP", balance_minor=1000, spendable_minor=600, deposit_minor=0, debt_minor=0
        ),
    ]
    assert wallet.wallet_summaries(world.uow(), world.rider().id, 0) == []


def test_a_rider_reads_their_postings_newest_first_page_by_page(world):
    rider = world.rider(credit_minor=500)
    world.now += timedelta(minutes=1)
    charge(world, rider, 300, "fare:1")
    world.now += timedelta(minutes=1)
    charge(world, rider, 400, "fare:2")  # 200 from the wallet, 200 owed
    world.rider(credit_minor=700)  # someone else's money

    newest = wallet.postings(world.uow(), rider.id, 2, None)
    older = wallet.postings(world.uow(), rider.id, 200, newest[-1].created_at)

    assert [(p.reference, p.account, p.amount_minor) for p in newest] == [
        ("fare:2", "rider_receivable", -200),
        ("fare:2", "rider_wallet", -200),
    ]
    assert [(p.reference, p.amount_minor) for p in older] == [
        ("fare:1", -300),
        (f"w:{rider.id}", 500),
    ]
    assert {p.transaction_kind for p in older} == {"fare", "promotion"}
    for limit in (0, 201):
        with pytest.raises(InvalidInput) as bad:
            wallet.postings(world.uow(), rider.id, limit, None)
        assert bad.value.code == "invalid_limit"


def test_the_books_balance_and_total_each_kind_of_account(world):
    rider = world.rider(credit_minor=500)
    charge(world, rider, 800, "fare:1")

    books = wallet.books(world.uow())

    assert books.balanced and books.unbalanced == {} and books.accounts_out_of_step == 0
    assert books.totals == [
        AccountTotal(CURRENCY, "platform_revenue", 800),
        AccountTotal(CURRENCY, "promotions", -500),
        AccountTotal(CURRENCY, "rider_receivable", -300),
        AccountTotal(CURRENCY, "rider_wallet", 0),
    ]


def test_the_books_catch_a_running_balance_out_of_step(world):
    rider = world.rider(credit_minor=500)
    world.store.accounts[("rider_wallet", CURRENCY, str(rider.id))].balance_minor += 1
    books = wallet.books(world.uow())
    assert not books.balanced and books.accounts_out_of_step == 1
    assert books.unbalanced == {}  # the postings themselves still sum to zero
