from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import InvalidInput
from rental.domain.fleet import asset_code_from_qr, check_lock_id
from rental.domain.ledger import (
    AccountKind,
    AccountRef,
    Posting,
    UnbalancedTransaction,
    check_balanced,
    fare_postings,
    settlement_postings,
)
from rental.domain.riders import normalised_phone
from rental.domain.trace import Fix, good_fixes

T0 = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    "qr",
    ["https://bikes.example/q/BK00001", "http://127.0.0.1:8000/q/BK00001/", "BK00001", " BK00001 "],
)
def test_a_qr_url_or_a_bare_code_names_the_asset(qr):
    assert asset_code_from_qr(qr) == "BK00001"


@pytest.mark.parametrize("qr", ["", "https://x/q/", "../etc", "a" * 50, "BK 1"])
def test_nonsense_qr_codes_are_invalid_input(qr):
    with pytest.raises(InvalidInput):
        asset_code_from_qr(qr)


def test_lock_ids_cannot_carry_mqtt_wildcards():
    for bad in ("L+1", "L#", "a/b", "$SYS"):
        with pytest.raises(InvalidInput):
            check_lock_id(bad)


def test_phone_numbers_are_normalised():
    assert normalised_phone("+86 138-0000-0001") == "+8613800000001"
    with pytest.raises(InvalidInput):
        normalised_phone("call me")


def test_a_fare_moves_money_from_wallet_to_revenue_and_balances():
    postings = fare_postings("rider-1", "CNY", 150, spendable_minor=1000)
    check_balanced(postings)
    assert {(p.account.kind, p.amount_minor) for p in postings} == {
        (AccountKind.RIDER_WALLET, -150),
        (AccountKind.PLATFORM_REVENUE, 150),
    }


def test_what_the_wallet_cannot_cover_becomes_debt():
    postings = fare_postings("rider-1", "CNY", 300, spendable_minor=100)
    check_balanced(postings)
    assert {(p.account.kind, p.amount_minor) for p in postings} == {
        (AccountKind.RIDER_WALLET, -100),
        (AccountKind.RIDER_RECEIVABLE, -200),
        (AccountKind.PLATFORM_REVENUE, 300),
    }


def test_debt_is_settled_from_what_the_wallet_can_spare():
    postings = settlement_postings("rider-1", "CNY", debt_minor=200, spendable_minor=150)
    check_balanced(postings)
    assert sorted(p.amount_minor for p in postings) == [-150, 150]
    assert settlement_postings("rider-1", "CNY", debt_minor=200, spendable_minor=0) == []


def test_unbalanced_or_fractional_postings_are_refused():
    wallet = AccountRef(AccountKind.RIDER_WALLET, "CNY", "r")
    revenue = AccountRef(AccountKind.PLATFORM_REVENUE, "CNY")
    with pytest.raises(UnbalancedTransaction):
        check_balanced([Posting(wallet, -150), Posting(revenue, 149)])
    with pytest.raises(UnbalancedTransaction):
        check_balanced([Posting(wallet, -1.5), Posting(revenue, 1.5)])  # type: ignore[arg-type]
    with pytest.raises(UnbalancedTransaction):
        check_balanced([Posting(wallet, 0)])


def test_the_path_follows_the_locks_clock_and_drops_repeats():
    fixes = [
        Fix(T0 + timedelta(seconds=2), 2.0, 2.0),
        Fix(T0, 1.0, 1.0),
        Fix(T0 + timedelta(seconds=1), 1.0, 1.0),
        Fix(T0 + timedelta(seconds=3), 3.0, 3.0),
    ]
    assert [(f.lon, f.lat) for f in good_fixes(fixes)] == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
