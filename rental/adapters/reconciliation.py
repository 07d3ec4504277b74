"""Our side of reconciliation on PostgreSQL: orders and refunds through one gateway, and
the runs with their differences (`rental.services.reconciliation.ReconciliationRecords`)."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select

from rental.adapters.tables import (
    payment_orders,
    reconciliation_differences,
    reconciliation_runs,
    refunds,
)
from rental.domain.payments import OrderState, RefundState
from rental.domain.reconciliation import (
    Difference,
    DifferenceKind,
    OurPayment,
    OurRefund,
    ReconciliationRun,
)

_PAYMENT_COLUMNS = (
    payment_orders.c.id,
    payment_orders.c.trade_no,
    payment_orders.c.amount_minor,
    payment_orders.c.currency,
    payment_orders.c.state,
    payment_orders.c.paid_at,
)
_REFUND_COLUMNS = (
    refunds.c.id,
    payment_orders.c.trade_no,
    refunds.c.amount_minor,
    payment_orders.c.currency,
    refunds.c.state,
    refunds.c.settled_at,
)
_REFUNDS = refunds.join(payment_orders, payment_orders.c.id == refunds.c.order_id)


class SqlReconciliationRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def payments(
        self, gateway: str, ids: Collection[uuid.UUID], trade_nos: Collection[str]
    ) -> list[OurPayment]:
        if not ids and not trade_nos:
            return []
        query = select(*_PAYMENT_COLUMNS).where(
            payment_orders.c.gateway == gateway,
            or_(payment_orders.c.id.in_(list(ids)), payment_orders.c.trade_no.in_(list(trade_nos))),
        )
        return [_payment(row) for row in self._rows(query)]

    def paid_between(self, gateway: str, start: datetime, end: datetime) -> list[OurPayment]:
        query = select(*_PAYMENT_COLUMNS).where(
            payment_orders.c.gateway == gateway,
            payment_orders.c.state == OrderState.PAID.value,
            payment_orders.c.paid_at >= start,
            payment_orders.c.paid_at < end,
        )
        return [_payment(row) for row in self._rows(query)]

    def refunds(self, gateway: str, ids: Collection[uuid.UUID]) -> list[OurRefund]:
        if not ids:
            return []
        query = (
            select(*_REFUND_COLUMNS)
            .select_from(_REFUNDS)
            .where(payment_orders.c.gateway == gateway, refunds.c.id.in_(list(ids)))
        )
        return [_refund(row) for row in self._rows(query)]

    def refunded_between(self, gateway: str, start: datetime, end: datetime) -> list[OurRefund]:
        query = (
            select(*_REFUND_COLUMNS)
            .select_from(_REFUNDS)
            .where(
                payment_orders.c.gateway == gateway,
                refunds.c.state == RefundState.SUCCEEDED.value,
                and_(refunds.c.settled_at >= start, refunds.c.settled_at < end),
            )
        )
        return [_refund(row) for row in self._rows(query)]

    def add_run(self, run: ReconciliationRun) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(reconciliation_runs).values(
                    id=run.id,
                    gateway=run.gateway,
                    day=run.day,
                    ran_at=run.ran_at,
                    statement_lines=run.statement_lines,
                    differences=len(run.differences),
                )
            )
            if run.differences:
                connection.execute(
                    insert(reconciliation_differences),
                    [
                        {
                            "run_id": run.id,
                            "kind": found.kind.value,
                            "subject": found.subject,
                            "reference": found.reference[:64],
                            "trade_no": found.trade_no[:64],
                            "currency": found.currency,
                            "ours_minor": found.ours_minor,
                            "theirs_minor": found.theirs_minor,
                            "ours_state": found.ours_state,
                            "note": found.note,
                        }
                        for found in run.differences
                    ],
                )

    def runs(self, gateway: str | None, limit: int) -> list[ReconciliationRun]:
        query = select(reconciliation_runs).order_by(
            reconciliation_runs.c.ran_at.desc(), reconciliation_runs.c.id
        )
        if gateway is not None:
            query = query.where(reconciliation_runs.c.gateway == gateway)
        runs = list(self._rows(query.limit(limit)))
        found: dict[uuid.UUID, list[Difference]] = {run["id"]: [] for run in runs}
        if runs:
            rows = self._rows(
                select(reconciliation_differences)
                .where(reconciliation_differences.c.run_id.in_(list(found)))
                .order_by(reconciliation_differences.c.id)
            )
            for row in rows:
                found[row["run_id"]].append(_difference(row))
        return [
            ReconciliationRun(
                id=run["id"],
                gateway=run["gateway"],
                day=run["day"],
                ran_at=run["ran_at"],
                statement_lines=run["statement_lines"],
                differences=tuple(found[run["id"]]),
            )
            for run in runs
        ]

    def _rows(self, query: Any) -> list[Any]:
        with self._engine.connect() as connection:
            return list(connection.execute(query).mappings())


def _payment(row: Any) -> OurPayment:
    return OurPayment(
        id=row["id"],
        trade_no=row["trade_no"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        state=OrderState(row["state"]),
        paid_at=row["paid_at"],
    )


def _refund(row: Any) -> OurRefund:
    return OurRefund(
        id=row["id"],
        trade_no=row["trade_no"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        state=RefundState(row["state"]),
        settled_at=row["settled_at"],
    )


def _difference(row: Any) -> Difference:
    return Difference(
        kind=DifferenceKind(row["kind"]),
        subject=row["subject"],
        reference=row["reference"],
        trade_no=row["trade_no"],
        currency=row["currency"],
        ours_minor=row["ours_minor"],
        theirs_minor=row["theirs_minor"],
        ours_state=row["ours_state"],
        note=row["note"],
    )
