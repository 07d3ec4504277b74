"""The ledger in PostgreSQL: balanced transactions, balances kept in step in one transaction."""

import uuid
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import accounts, ledger_transactions, postings
from rental.domain.ledger import AccountKind, AccountRef, Posting, check_balanced


class LedgerRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def post(self, kind: str, reference: str, entries: list[Posting]) -> bool:
        """Book the postings once per reference; False if that reference was booked before."""
        check_balanced(entries)
        transaction_id = uuid.uuid4()
        booked = self._c.execute(
            insert(ledger_transactions)
            .values(id=transaction_id, kind=kind, reference=reference)
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(ledger_transactions.c.id)
        ).first()
        if booked is None:
            return False
        # Lock accounts in id order so concurrent transactions cannot deadlock.
        account_ids = {entry.account: self._account_id(entry.account) for entry in entries}
        for ref in sorted(account_ids, key=account_ids.__getitem__):
            amount = sum(e.amount_minor for e in entries if e.account == ref)
            self._c.execute(
                update(accounts)
                .where(accounts.c.id == account_ids[ref])
                .values(balance_minor=accounts.c.balance_minor + amount)
            )
        self._c.execute(
            postings.insert(),
            [
                {
                    "transaction_id": transaction_id,
                    "account_id": account_ids[e.account],
                    "amount_minor": e.amount_minor,
                }
                for e in entries
            ],
        )
        return True

    def balance(self, ref: AccountRef) -> int:
        return self._c.execute(select(accounts.c.balance_minor).where(*_matches(ref))).scalar() or 0

    def wallet_balances(self, owner_id: str) -> dict[str, int]:
        rows = self._c.execute(
            select(accounts.c.currency, accounts.c.balance_minor).where(
                accounts.c.kind == AccountKind.RIDER_WALLET.value, accounts.c.owner_id == owner_id
            )
        )
        return {currency: balance for currency, balance in rows}

    def unbalanced_currencies(self) -> dict[str, int]:
        """Per currency, the sum of all postings; empty when the books balance."""
        rows = self._c.execute(
            select(accounts.c.currency, func.sum(postings.c.amount_minor))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .group_by(accounts.c.currency)
        )
        return {currency: int(total) for currency, total in rows if total != 0}

    def _account_id(self, ref: AccountRef) -> int:
        self._c.execute(
            insert(accounts)
            .values(kind=ref.kind.value, currency=ref.currency, owner_id=ref.owner_id or "")
            .on_conflict_do_nothing(constraint="accounts_kind_currency_owner")
        )
        return int(self._c.execute(select(accounts.c.id).where(*_matches(ref))).scalar_one())


def _matches(ref: AccountRef) -> list[Any]:
    return [
        accounts.c.kind == ref.kind.value,
        accounts.c.currency == ref.currency,
        accounts.c.owner_id == (ref.owner_id or ""),
    ]
