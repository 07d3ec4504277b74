"""The ledger on PostgreSQL: balanced, booked once, exact under concurrency."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from rental.domain.ledger import (
    AccountKind,
    AccountRef,
    Posting,
    UnbalancedTransaction,
    fare_postings,
)
from rental.services import accounts
from rental.services.commands.riders import SignIn
from rental.services.wallet import books, charge_fare, debt
from tests.helpers import make_user


def wallet(user) -> AccountRef:
    return AccountRef(AccountKind.RIDER_WALLET, "CNY", str(user.id))


def test_concurrent_fares_from_one_wallet_are_all_counted(platform):
    rider = make_user(platform, credit_minor=10_000)

    def charge(number: int) -> bool:
        with platform.uow() as uow:
            booked = uow.ledger.post(
                "fare", f"fare:c{number}", fare_postings(str(rider.id), "CNY", 150, 10_000)
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
            uow.ledger.post("fare", "fare:once", fare_postings(str(rider.id), "CNY", 150, 10_000))
            uow.commit()
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 850


def test_an_unbalanced_transaction_never_reaches_the_database(platform):
    rider = make_user(platform)
    with platform.uow() as uow, pytest.raises(UnbalancedTransaction):
        uow.ledger.post("fare", "fare:bad", [Posting(wallet(rider), -150)])
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 0


def test_concurrent_fares_never_spend_below_the_floor_and_the_rest_is_debt(platform):
    rider = make_user(platform, credit_minor=1000)

    def charge(number: int) -> int:
        with platform.uow() as uow:
            owed = charge_fare(uow, rider.id, "CNY", 150, f"fare:f{number}", wallet_floor_minor=0)
            uow.commit()
        return owed

    with ThreadPoolExecutor(max_workers=8) as pool:
        owed = sum(pool.map(charge, range(10)))
    with platform.uow() as uow:
        assert uow.ledger.balance(wallet(rider)) == 0
        assert debt(uow, rider.id, "CNY") == owed == 10 * 150 - 1000


def test_money_arriving_pays_the_debt_first(platform):
    rider = make_user(platform, credit_minor=100)
    with platform.uow() as uow:
        charge_fare(uow, rider.id, "CNY", 300, "fare:big", wallet_floor_minor=0)
        uow.commit()
    accounts.grant_promotion(platform.uow(), rider.id, "CNY", 500, "promo:after-debt")
    with platform.uow() as uow:
        assert debt(uow, rider.id, "CNY") == 0
        assert uow.ledger.balance(wallet(rider)) == 500 - 200


def test_the_books_report_catches_a_balance_out_of_step(platform):
    make_user(platform, credit_minor=100)
    assert books(platform.uow()).balanced
    with platform.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE accounts SET balance_minor = balance_minor + 1 WHERE kind = 'rider_wallet'"
        )
    report = books(platform.uow())
    assert not report.balanced and report.accounts_out_of_step == 1
    with platform.engine.begin() as connection:  # put it back for the after-test check
        connection.exec_driver_sql(
            "UPDATE accounts SET balance_minor = balance_minor - 1 WHERE kind = 'rider_wallet'"
        )


def test_the_command_line_check_fails_when_the_books_do_not_balance(platform, database_url):
    make_user(platform, credit_minor=100)

    def check() -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DATABASE_URL": database_url}
        command = [sys.executable, "-m", "rental", "check-books"]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    assert check().returncode == 0
    tamper = "UPDATE accounts SET balance_minor = balance_minor + {} WHERE kind = 'rider_wallet'"
    with platform.engine.begin() as connection:
        connection.exec_driver_sql(tamper.format(7))
    failed = check()
    assert failed.returncode == 1
    assert "NOT BALANCED" in failed.stderr
    with platform.engine.begin() as connection:
        connection.exec_driver_sql(tamper.format(-7))


def test_the_command_line_creates_an_operator_who_can_sign_in(platform, database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [
        sys.executable,
        "-m",
        "rental",
        "create-operator",
        "--phone",
        "13911112222",
        "--password",
        "operator-pass-1",
    ]
    created = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stderr
    operator = accounts.authenticate(
        platform.uow(), platform.passwords, SignIn("13911112222", "operator-pass-1")
    )
    assert operator.role.value == "operator"
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "phone_taken" in again.stderr
