"""The ledger in PostgreSQL: balanced transactions, booked once per business reference.

Rider accounts keep a running balance, updated in the same transaction as their
postings, because rules read and lock them (the wallet floor, debt). Platform
accounts (revenue, promotions, gateway clearing) are derived from postings when
reported: updating one shared row on every fare would queue every trip end on it.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import accounts, ledger_transactions, postings
from rental.domain.ledger import AccountRef, Posting, check_balanced
from rental.services.read_models import AccountTotal, RiderPosting


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
        account_ids = {entry.account: self._account_id(entry.account) for entry in entries}
        # Lock accounts in id order so concurrent transactions cannot deadlock.
        for ref in sorted(account_ids, key=account_ids.__getitem__):
            if ref.owner_id is None:
                continue
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

    def balance(self, ref: AccountRef, *, for_update: bool = False) -> int:
        """An account's balance; `for_update` holds a rider account until the transaction ends."""
        if ref.owner_id is None:
            return self.derived_balance(ref)
        query = select(accounts.c.balance_minor).where(*_matches(ref))
        if for_update:
            self._account_id(ref)
            query = query.with_for_update()
        return int(self._c.execute(query).scalar() or 0)

    def derived_balance(self, ref: AccountRef) -> int:
        total = self._c.execute(
            select(func.coalesce(func.sum(postings.c.amount_minor), 0))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(*_matches(ref))
        ).scalar_one()
        return int(total)

    def owner_balances(self, owner_id: str) -> dict[tuple[str, str], int]:
        """(kind, currency) -> balance of every account of one rider."""
        rows = self._c.execute(
            select(accounts.c.kind, accounts.c.currency, accounts.c.balance_minor).where(
                accounts.c.owner_id == owner_id
            )
        )
        return {(kind, currency): balance for kind, currency, balance in rows}

    def owner_postings(
        self, owner_id: str, limit: int, before: datetime | None
    ) -> list[RiderPosting]:
        """One rider's postings, newest first, with the transaction they belong to."""
        query = (
            select(
                ledger_transactions.c.id.label("transaction_id"),
                ledger_transactions.c.kind.label("transaction_kind"),
                ledger_transactions.c.reference,
                ledger_transactions.c.created_at,
                accounts.c.kind.label("account"),
                accounts.c.currency,
                postings.c.amount_minor,
            )
            .join(accounts, accounts.c.id == postings.c.account_id)
            .join(ledger_transactions, ledger_transactions.c.id == postings.c.transaction_id)
            .where(accounts.c.owner_id == owner_id)
            .order_by(ledger_transactions.c.created_at.desc(), postings.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(ledger_transactions.c.created_at < before)
        return [RiderPosting(**row) for row in self._c.execute(query).mappings()]

    def postings_of(self, reference: str) -> list[tuple[str, int]]:
        """(account kind, amount) of the transaction booked under `reference`."""
        rows = self._c.execute(
            select(accounts.c.kind, postings.c.amount_minor)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .join(ledger_transactions, ledger_transactions.c.id == postings.c.transaction_id)
            .where(ledger_transactions.c.reference == reference)
        )
        return [(kind, int(amount)) for kind, amount in rows]

    def totals(self) -> list[AccountTotal]:
        """Sum of postings per currency and account kind, for the books report."""
        rows = self._c.execute(
            select(accounts.c.currency, accounts.c.kind, func.sum(postings.c.amount_minor))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .group_by(accounts.c.currency, accounts.c.kind)
            .order_by(accounts.c.currency, accounts.c.kind)
        )
        return [AccountTotal(c, k, int(t)) for c, k, t in rows]

    def accounts_out_of_step(self) -> int:
        """Rider accounts whose running balance differs from the sum of their postings."""
        sums = (
            select(postings.c.account_id, func.sum(postings.c.amount_minor).label("total"))
            .group_by(postings.c.account_id)
            .subquery()
        )
        query = (
            select(func.count())
            .select_from(accounts.outerjoin(sums, sums.c.account_id == accounts.c.id))
            .where(accounts.c.owner_id != "")
            .where(accounts.c.balance_minor != func.coalesce(sums.c.total, 0))
        )
        return int(self._c.execute(query).scalar_one())

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
