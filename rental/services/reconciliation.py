"""Reconciliation: a provider's statement of a day against our orders and refunds through
it (`rental.domain.reconciliation`), each run and its differences stored for operators
(`python -m rental reconcile`, `GET /api/v1/ops/reconciliations`). It reads and records
only: settling a difference moves money, which a person decides."""

import uuid
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Protocol, cast
from zoneinfo import ZoneInfo

from rental.domain.errors import NotFound, Unavailable
from rental.domain.reconciliation import (
    OurPayment,
    OurRefund,
    ReconciliationRun,
    TheirLine,
    differences,
)
from rental.services.ports import GatewayError, GatewayStatements, PaymentGateways


class ReconciliationRecords(Protocol):
    """Our side of a statement, and the runs kept (implemented on PostgreSQL in
    `rental.adapters.reconciliation`)."""

    def payments(
        self, gateway: str, ids: Collection[uuid.UUID], trade_nos: Collection[str]
    ) -> list[OurPayment]:
        """Orders through `gateway` with these ids or trade numbers."""
        ...

    def paid_between(self, gateway: str, start: datetime, end: datetime) -> list[OurPayment]:
        """Orders through `gateway` paid in [start, end)."""
        ...

    def refunds(self, gateway: str, ids: Collection[uuid.UUID]) -> list[OurRefund]:
        """Refunds of orders through `gateway` with these ids."""
        ...

    def refunded_between(self, gateway: str, start: datetime, end: datetime) -> list[OurRefund]:
        """Refunds of orders through `gateway` that succeeded in [start, end)."""
        ...

    def add_run(self, run: ReconciliationRun) -> None: ...

    def runs(self, gateway: str | None, limit: int) -> list[ReconciliationRun]:
        """The latest runs, newest first, with their differences."""
        ...


def reconcile(
    records: ReconciliationRecords, statements: GatewayStatements, day: date, now: datetime
) -> ReconciliationRun:
    """Read the provider's statement of `day` and store what differs from our records.
    Raises Unavailable `gateway_unavailable` when the statement cannot be read."""
    try:
        lines = statements.statement(day)
    except GatewayError as exc:
        raise Unavailable(
            f"the statement of {day} from {statements.name} could not be read: {exc}",
            "gateway_unavailable",
        ) from exc
    theirs = [
        TheirLine(line.kind, line.trade_no, line.reference, line.amount_minor, line.currency)
        for line in lines
    ]
    start, end = statement_window(statements, day)
    name = statements.name
    ids = {ident for line in theirs if (ident := _uuid(line.reference)) is not None}
    found = differences(
        theirs,
        records.payments(name, ids, {line.trade_no for line in theirs if line.kind == "payment"}),
        records.refunds(name, ids),
        records.paid_between(name, start, end),
        records.refunded_between(name, start, end),
    )
    run = ReconciliationRun(uuid.uuid4(), name, day, now, len(theirs), tuple(found))
    records.add_run(run)
    return run


def statement_window(statements: GatewayStatements, day: date) -> tuple[datetime, datetime]:
    """The statement's day as instants: midnight to midnight on the provider's clock (its
    `statement_time_zone`, UTC when it names none; Alipay and WeChat Pay keep Beijing
    time)."""
    zone = ZoneInfo(getattr(statements, "statement_time_zone", "UTC"))
    start = datetime.combine(day, time(), zone)
    return start, start + timedelta(days=1)


def recent_runs(
    records: ReconciliationRecords, gateway: str | None, limit: int
) -> list[ReconciliationRun]:
    return records.runs(gateway, limit)


def statements_of(gateways: PaymentGateways, name: str) -> GatewayStatements:
    """The gateway `name` as a source of statements. Raises NotFound `gateway_not_found`
    for one not configured or one that gives no statement."""
    gateway = gateways.get(name)
    if gateway is None or not callable(getattr(gateway, "statement", None)):
        raise NotFound(f"no gateway {name} with a daily statement", "gateway_not_found")
    return cast(GatewayStatements, gateway)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
