"""The rider's money: spending down to a floor, debt, and the books that prove it all.

Spendable money is the wallet balance above the configured floor. A fare the wallet
cannot cover is still booked in full; the rest becomes debt, which blocks the next
rental until it is settled (automatically, as soon as money arrives in the wallet).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from rental.domain.credit import CreditReason
from rental.domain.errors import InvalidInput
from rental.domain.ledger import (
    AccountKind,
    Posting,
    fare_postings,
    rider_account,
    settlement_postings,
)
from rental.services.read_models import AccountTotal, RiderPosting
from rental.services.unit_of_work import UnitOfWork


def spendable(uow: UnitOfWork, rider_id: uuid.UUID, currency: str, wallet_floor_minor: int) -> int:
    """Locks the wallet until the transaction ends, so two charges cannot both spend it."""
    wallet = rider_account(AccountKind.RIDER_WALLET, str(rider_id), currency)
    return uow.ledger.balance(wallet, for_update=True) - wallet_floor_minor


def debt(uow: UnitOfWork, rider_id: uuid.UUID, currency: str) -> int:
    return -uow.ledger.balance(rider_account(AccountKind.RIDER_RECEIVABLE, str(rider_id), currency))


def charge_fare(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    currency: str,
    fare_minor: int,
    reference: str,
    wallet_floor_minor: int,
    kind: str = "fare",
) -> int:
    """Book a fare (or another charge for a service, such as a reservation) inside the caller's
    transaction; returns the part left as debt."""
    if fare_minor <= 0:
        return 0
    available = spendable(uow, rider_id, currency, wallet_floor_minor)
    entries = fare_postings(str(rider_id), currency, fare_minor, available)
    uow.ledger.post(kind, reference, entries)
    return -sum(e.amount_minor for e in entries if e.account.kind is AccountKind.RIDER_RECEIVABLE)


def credit_and_settle(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    currency: str,
    kind: str,
    reference: str,
    entries: list[Posting],
    wallet_floor_minor: int,
) -> bool:
    """Book money into the wallet, then pay what the rider owes from it. False if booked before."""
    if not uow.ledger.post(kind, reference, entries):
        return False
    owed = debt(uow, rider_id, currency)
    if owed > 0:
        available = spendable(uow, rider_id, currency, wallet_floor_minor)
        settlement = settlement_postings(str(rider_id), currency, owed, available)
        if settlement:
            uow.ledger.post("debt_settlement", f"settle:{reference}", settlement)
            uow.credit.record(rider_id, CreditReason.TIMELY_PAYMENT, f"settle:{reference}")
    return True


@dataclass(frozen=True)
class WalletSummary:
    currency: str
    balance_minor: int
    spendable_minor: int
    deposit_minor: int
    debt_minor: int


def wallet_summaries(
    uow: UnitOfWork, rider_id: uuid.UUID, wallet_floor_minor: int
) -> list[WalletSummary]:
    with uow:
        balances = uow.ledger.owner_balances(str(rider_id))
    currencies = sorted({currency for _, currency in balances})

    def of(kind: AccountKind, currency: str) -> int:
        return balances.get((kind.value, currency), 0)

    return [
        WalletSummary(
            currency=currency,
            balance_minor=of(AccountKind.RIDER_WALLET, currency),
            spendable_minor=max(0, of(AccountKind.RIDER_WALLET, currency) - wallet_floor_minor),
            deposit_minor=of(AccountKind.RIDER_DEPOSIT, currency),
            debt_minor=-of(AccountKind.RIDER_RECEIVABLE, currency),
        )
        for currency in currencies
    ]


def postings(
    uow: UnitOfWork, rider_id: uuid.UUID, limit: int, before: datetime | None
) -> list[RiderPosting]:
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200", "invalid_limit")
    with uow:
        return uow.ledger.owner_postings(str(rider_id), limit, before)


@dataclass(frozen=True)
class Books:
    balanced: bool
    unbalanced: dict[str, int]  # currency -> sum of postings, when not zero
    accounts_out_of_step: int
    totals: list[AccountTotal]


def books(uow: UnitOfWork) -> Books:
    """Proof that the books balance: all postings sum to zero per currency, and every
    rider account's running balance equals the sum of its postings."""
    with uow:
        unbalanced = uow.ledger.unbalanced_currencies()
        out_of_step = uow.ledger.accounts_out_of_step()
        totals = uow.ledger.totals()
    return Books(not unbalanced and out_of_step == 0, unbalanced, out_of_step, totals)
