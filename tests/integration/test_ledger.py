"""The ledger on PostgreSQL: balanced, booked once, exact under concurrency."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from rental.domain.ledger import (
    AccountKind,
    AccountRef,
    Posting,
    UnbalancedTransaction,
    fare_postings,
)
from tests.helpers import make_user


def wallet(user) -> AccountRef:
    return AccountRef(AccountKind.RIDER_WALLET, "CNY", str(user.id))


def test_concurrent_fares_from_one_wallet_are_all_counted(platform):
    rider = make_user(platform, credit_minor=10_000)

    def charge(number: int) -> bool:
        with platform.uow() as uow:
            booked = uow.ledger.post(
                "fare", f"fare:c{number}", fare_postings(str(rider.id), "CNY", 150)
            )
            uow.commit()
        return booked

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(charge, range(40)))
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 10_000 - 40 * 150
        revenue = uow.ledger.balance(AccountRef(AccountKind.PLATFORM_REVENUE, "CNY"))
        assert revenue == 40 * 150
        assert uow.ledger.unbalanced_currencies() == {}


def test_the_same_reference_is_booked_once(platform):
    rider = make_user(platform, credit_minor=1000)
    for _ in range(3):
        with platform.uow() as uow:
            uow.ledger.post("fare", "fare:once", fare_postings(str(rider.id), "CNY", 150))
            uow.commit()
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 850


def test_an_unbalanced_transaction_never_reaches_the_database(platform):
    rider = make_user(platform)
    with platform.uow() as uow, pytest.raises(UnbalancedTransaction):
        uow.ledger.post("fare", "fare:bad", [Posting(wallet(rider), -150)])
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 0
