"""Reconciliation runs for operators: each provider's daily statement against our orders
and refunds (`python -m rental reconcile`), and what differed, for a person to settle."""

from datetime import date, datetime
from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.common import platform
from rental.api.contract import BEARER, SIGNED_IN, AnswerModel, GatewayName, RequestModel, signed_in
from rental.domain.reconciliation import Difference, DifferenceKind, ReconciliationRun
from rental.domain.riders import Role
from rental.services import reconciliation

RECONCILIATION = Tag(name="reconciliation", description="providers' statements against ours")
blueprint = APIBlueprint(
    "reconciliation", __name__, url_prefix="/api/v1", abp_tags=[RECONCILIATION]
)


class RunsQuery(RequestModel):
    gateway: GatewayName | None = None
    limit: int = Field(20, ge=1, le=200)


class DifferenceAnswer(AnswerModel):
    kind: DifferenceKind = Field(
        description="missing_here (on the statement, not ours), missing_there (ours, not on "
        "the statement), other_amount, other_state, late_payment (paid there after the "
        "order expired or failed here: the rider is owed the money)"
    )
    subject: str = Field(description="payment or refund")
    reference: str = Field(description="our order or refund id")
    trade_no: str
    currency: str
    ours_minor: int | None = Field(description="null: we have no such record")
    theirs_minor: int | None = Field(description="null: not on the statement")
    ours_state: str | None
    note: str


class RunAnswer(AnswerModel):
    id: str
    gateway: str
    day: date = Field(description="the statement's day, on the provider's clock")
    ran_at: datetime
    statement_lines: int
    differences: list[DifferenceAnswer]


class Runs(AnswerModel):
    runs: list[RunAnswer]


def _difference(found: Difference) -> DifferenceAnswer:
    return DifferenceAnswer(
        kind=found.kind,
        subject=found.subject,
        reference=found.reference,
        trade_no=found.trade_no,
        currency=found.currency,
        ours_minor=found.ours_minor,
        theirs_minor=found.theirs_minor,
        ours_state=found.ours_state,
        note=found.note,
    )


def _run(run: ReconciliationRun) -> RunAnswer:
    return RunAnswer(
        id=str(run.id),
        gateway=run.gateway,
        day=run.day,
        ran_at=run.ran_at,
        statement_lines=run.statement_lines,
        differences=[_difference(found) for found in run.differences],
    )


@blueprint.get("/ops/reconciliations", responses={200: Runs, **SIGNED_IN}, security=BEARER)
@signed_in(Role.OPERATOR)
def recent_runs(query: RunsQuery) -> dict[str, Any]:
    """The latest reconciliation runs, newest first (of one `gateway`, or all), each with
    the differences it found. Nothing here moves money: an operator settles each by hand."""
    p = platform()
    runs = reconciliation.recent_runs(p.reconciliation, query.gateway, query.limit)
    return Runs(runs=[_run(run) for run in runs]).json()
