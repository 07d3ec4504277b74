"""Reconciliation on the real database: the sandbox's statement and Stripe's balance
report (from the local fake) held against our orders and refunds; every difference kind
found, stored, listed to operators only, printed by `python -m rental reconcile` with a
non-zero exit; and no money moved by it."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from rental.__main__ import main
from rental.services import payments
from rental.services.reconciliation import reconcile
from rental.services.wallet import books
from sandboxpay.signing import signed_headers
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_payments import balance, top_up
from tests.e2e.test_stripe_payments import paid_through_stripe, stripe_fake, stripe_top_up
from tests.helpers import eventually

__all__ = ["stripe_fake"]  # the fixture, shared


@pytest.fixture(autouse=True)
def fresh_statement(system):
    """The sandbox serves the whole module; its statement starts empty for each test, as
    the database does."""
    system.gateway_app.extensions["gateway"].booked.clear()


def ledger_totals(system) -> list:
    return [(t.currency, t.kind, t.total_minor) for t in books(system.platform.uow()).totals]


def paid_unnoticed(system, order) -> None:
    """The rider pays at the sandbox, whose notification never reaches us."""
    system.pay(order, repeat=0)


def kinds(run) -> dict[str, str]:
    return {found.reference: found.kind.value for found in run.differences}


def test_the_sandbox_statement_shows_late_unnoticed_unknown_and_unpaid_money(system):
    rider = system.rider(credit_minor=0)
    sandbox = system.platform.payment_gateways["sandbox"]
    fine = top_up(system, rider, 3000)
    system.pay(fine)
    system.wait_order(rider, fine["id"], "paid")
    withdrawal = {"amount_minor": 1000, "idempotency_key": uuid.uuid4().hex}
    assert system.post("/api/v1/wallet/withdrawals", withdrawal, rider).status_code == 202
    system.wait_order(rider, fine["id"], "paid")

    late = top_up(system, rider, 700)
    payments.expire_orders(system.platform.uow(), datetime.now(UTC) + timedelta(hours=1))
    paid_unnoticed(system, late)  # paid after it expired here
    waiting = top_up(system, rider, 500)
    paid_unnoticed(system, waiting)  # paid, its notification lost
    believed = top_up(system, rider, 400)
    with system.platform.uow() as uow:  # credited here (as a forged notification would)
        order = uow.payments.order(uuid.UUID(believed["id"]), for_update=True)
        order.record_result(True, datetime.now(UTC))
        uow.payments.save_order(order)
        uow.commit()
    stranger = str(uuid.uuid4())  # an order the sandbox took for someone else's merchant id
    body = json.dumps(
        {
            "merchant_order_id": stranger,
            "amount_minor": 999,
            "currency": "CNY",
            "notify_url": f"{system.url}/nowhere",
        }
    ).encode()
    made = system.http.post(
        f"{system.gateway_url}/v1/orders",
        data=body,
        headers=signed_headers(system.gateway_secret, body),
    ).json()
    system.http.post(f"{system.gateway_url}/pay/{made['trade_no']}", json={"repeat": 0})

    def refund_settled() -> bool:
        again = system.post("/api/v1/wallet/withdrawals", withdrawal, rider).json()
        return [part["state"] for part in again["refunds"]] == ["succeeded"]

    eventually(refund_settled, what="the withdrawal's refund settled")
    before = ledger_totals(system), balance(system, rider)

    run = reconcile(
        system.platform.reconciliation, sandbox, datetime.now(UTC).date(), datetime.now(UTC)
    )

    assert run.statement_lines == 5  # four payments and one refund
    assert kinds(run) == {
        late["id"]: "late_payment",
        waiting["id"]: "other_state",
        believed["id"]: "missing_there",
        stranger: "missing_here",
    }
    (late_found,) = [d for d in run.differences if d.kind.value == "late_payment"]
    assert "LATE PAYMENT" in late_found.note and late_found.ours_state == "expired"
    assert (ledger_totals(system), balance(system, rider)) == before  # no money moved

    listed = system.get("/api/v1/ops/reconciliations?gateway=sandbox", system.operator())
    assert listed.status_code == 200, listed.text
    (shown,) = listed.json()["runs"]
    assert shown["id"] == str(run.id) and len(shown["differences"]) == 4
    assert {d["reference"]: d["kind"] for d in shown["differences"]} == kinds(run)
    assert system.get("/api/v1/ops/reconciliations", rider).status_code == 403


def test_reconcile_prints_the_differences_and_exits_non_zero_for_cron(
    system, monkeypatch, capsys, database_url
):
    rider = system.rider(credit_minor=0)
    order = top_up(system, rider, 600)
    paid_unnoticed(system, order)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PAYMENT_GATEWAY_URL", system.gateway_url)
    monkeypatch.setenv("PAYMENT_GATEWAY_SECRET", system.gateway_secret.decode())
    today = datetime.now(UTC).date().isoformat()

    assert main(["reconcile", "--gateway", "sandbox", "--date", today]) == 1
    printed = capsys.readouterr().out
    assert f"sandbox {today}: 1 statement line(s), 1 difference(s)" in printed
    assert f"other_state    payment {order['id']}" in printed

    system.pay(order)  # the notification arrives at last
    system.wait_order(rider, order["id"], "paid")
    assert main(["reconcile", "--gateway", "sandbox", "--date", today]) == 0
    assert "0 difference(s)" in capsys.readouterr().out
    assert main(["reconcile", "--gateway", "nowhere", "--date", today]) == 1
    assert "gateway_not_found" in capsys.readouterr().err


def test_stripes_balance_report_is_reconciled_against_our_orders_and_refunds(system, stripe_fake):
    rider = system.rider(credit_minor=0)
    paid, intent = paid_through_stripe(system, stripe_fake, rider, 3000)
    request = {"amount_minor": 1200, "idempotency_key": uuid.uuid4().hex}
    assert system.post("/api/v1/wallet/withdrawals", request, rider).status_code == 202
    gateway = system.platform.payment_gateways["stripe"]
    today = datetime.now(UTC).date()

    clean = reconcile(system.platform.reconciliation, gateway, today, datetime.now(UTC))
    assert (clean.statement_lines, clean.differences) == (2, ())  # the charge and the refund

    unnoticed = stripe_top_up(system, rider, 800)
    stripe_fake.pay(stripe_fake.session_for(unnoticed["id"])["id"])  # no webhook came
    stripe_fake.booked[0].amount = 2900  # Stripe booked another amount for the first
    run = reconcile(system.platform.reconciliation, gateway, today, datetime.now(UTC))
    assert kinds(run) == {paid["id"]: "other_amount", unnoticed["id"]: "other_state"}
    (other,) = [d for d in run.differences if d.kind.value == "other_amount"]
    assert (other.ours_minor, other.theirs_minor, other.trade_no) == (3000, 2900, intent["id"])
    assert balance(system, rider)["balance_minor"] == 3000 - 1200


def test_operators_see_each_runs_differences_in_the_console(system, tab):
    rider = system.rider(credit_minor=0)
    late = top_up(system, rider, 700)
    payments.expire_orders(system.platform.uow(), datetime.now(UTC) + timedelta(hours=1))
    paid_unnoticed(system, late)
    sandbox = system.platform.payment_gateways["sandbox"]
    reconcile(system.platform.reconciliation, sandbox, datetime.now(UTC).date(), datetime.now(UTC))

    page = open_console(system, tab, "reconciliation")
    row = page.locator("tr[data-kind=late_payment]")
    expect(row).to_contain_text("Late payment: the rider is owed it")
    expect(row).to_contain_text(late["id"])
    expect(row).to_contain_text("LATE PAYMENT")
    expect(page.locator("section[data-run] h2")).to_contain_text("sandbox")
    assert tab.problems == []
