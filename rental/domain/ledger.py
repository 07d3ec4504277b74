"""Double-entry bookkeeping: money moves only as balanced sets of postings.

Amounts are integers in minor units (fen for CNY). A positive posting adds to an
account's balance, a negative one takes from it; every transaction sums to zero
per currency, so money is never created or lost.
"""

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    RIDER_WALLET = "rider_wallet"
    PLATFORM_REVENUE = "platform_revenue"
    PROMOTIONS = "promotions"


@dataclass(frozen=True)
class AccountRef:
    """Names an account without knowing its database id."""

    kind: AccountKind
    currency: str
    owner_id: str | None = None


@dataclass(frozen=True)
class Posting:
    account: AccountRef
    amount_minor: int


class UnbalancedTransaction(ValueError):
    pass


def check_balanced(postings: list[Posting]) -> None:
    if len(postings) < 2:
        raise UnbalancedTransaction("a transaction needs at least two postings")
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        if not isinstance(posting.amount_minor, int) or isinstance(posting.amount_minor, bool):
            raise UnbalancedTransaction("amounts are integers in minor units")
        totals[posting.account.currency] += posting.amount_minor
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"postings do not sum to zero: {unbalanced}")


def fare_postings(rider_id: str, currency: str, amount_minor: int) -> list[Posting]:
    return [
        Posting(AccountRef(AccountKind.RIDER_WALLET, currency, rider_id), -amount_minor),
        Posting(AccountRef(AccountKind.PLATFORM_REVENUE, currency), amount_minor),
    ]


def promotion_postings(rider_id: str, currency: str, amount_minor: int) -> list[Posting]:
    return [
        Posting(AccountRef(AccountKind.PROMOTIONS, currency), -amount_minor),
        Posting(AccountRef(AccountKind.RIDER_WALLET, currency, rider_id), amount_minor),
    ]
