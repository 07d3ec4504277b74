"""Double-entry bookkeeping: money moves only as balanced sets of postings.

Amounts are integers in minor units (fen for CNY). A positive posting adds to an
account's balance, a negative one takes from it; every transaction sums to zero
per currency, so money is never created or lost.
"""

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    RIDER_WALLET = "rider_wallet"  # what the platform owes the rider: spendable money
    RIDER_DEPOSIT = "rider_deposit"  # deposits held for the rider
    RIDER_RECEIVABLE = "rider_receivable"  # negative: what the rider owes (debt)
    PLATFORM_REVENUE = "platform_revenue"
    PROMOTIONS = "promotions"  # negative: credit the platform has given away
    GATEWAY_CLEARING = "gateway_clearing"  # negative: money a gateway collected for us
    REFUNDS_IN_FLIGHT = "refunds_in_flight"  # refunds asked of a gateway, not yet confirmed


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


def rider_account(kind: AccountKind, rider_id: str, currency: str) -> AccountRef:
    return AccountRef(kind, currency, rider_id)


def fare_postings(
    rider_id: str, currency: str, fare_minor: int, spendable_minor: int
) -> list[Posting]:
    """The fare is earned in full; what the wallet cannot cover becomes the rider's debt."""
    paid = min(fare_minor, max(0, spendable_minor))
    owed = fare_minor - paid
    postings = [Posting(AccountRef(AccountKind.PLATFORM_REVENUE, currency), fare_minor)]
    if paid:
        postings.append(Posting(rider_account(AccountKind.RIDER_WALLET, rider_id, currency), -paid))
    if owed:
        postings.append(
            Posting(rider_account(AccountKind.RIDER_RECEIVABLE, rider_id, currency), -owed)
        )
    return postings


def settlement_postings(
    rider_id: str, currency: str, debt_minor: int, spendable_minor: int
) -> list[Posting]:
    """Pay as much of the debt as the wallet allows; empty when there is nothing to do."""
    amount = min(debt_minor, max(0, spendable_minor))
    if amount <= 0:
        return []
    return [
        Posting(rider_account(AccountKind.RIDER_WALLET, rider_id, currency), -amount),
        Posting(rider_account(AccountKind.RIDER_RECEIVABLE, rider_id, currency), amount),
    ]


def promotion_postings(rider_id: str, currency: str, amount_minor: int) -> list[Posting]:
    return [
        Posting(AccountRef(AccountKind.PROMOTIONS, currency), -amount_minor),
        Posting(AccountRef(AccountKind.RIDER_WALLET, currency, rider_id), amount_minor),
    ]
