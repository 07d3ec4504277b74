"""A local stand-in for Stripe's HTTP API on 127.0.0.1, answering the calls the Stripe
adapter makes with the objects Stripe documents (api.stripe.com/v1, form-encoded
requests, JSON answers; files.stripe.com for report files):

    POST /v1/checkout/sessions              -> a Checkout Session (object "checkout.session")
    GET  /v1/checkout/sessions/{id}
    GET  /v1/payment_intents/{id}           -> a PaymentIntent; 404 resource_missing
    POST /v1/refunds                        -> a Refund (Idempotency-Key honoured)
    POST /v1/reporting/report_runs          -> a report run (object "reporting.report_run")
    GET  /v1/reporting/report_runs/{id}
    GET  /v1/files/{id}/contents            -> the report's CSV

The test plays the rider and Stripe's back office: `pay(session_id)` makes the session's
PaymentIntent and marks it paid (as a rider paying on the Checkout page), `event(...)`
builds an Event and `signed(...)` signs it exactly as Stripe signs webhooks.
"""

import csv
import hashlib
import hmac
import io
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

API_KEY = "sk_test_" + "fake" * 6


def stripe_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends: t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>.<body>" keyed by the endpoint's secret>."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


@dataclass
class Booked:
    """A line of the balance report: what Stripe booked, and when."""

    category: str  # "charge" or "refund"
    intent_id: str
    source_id: str
    amount: int  # Stripe's amount, in the currency's smallest unit
    currency: str
    at: datetime
    order_id: str = ""
    refund_id: str = ""


@dataclass
class FakeStripe:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    booked: list[Booked] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    refund_status: str = "succeeded"  # what the next refunds answer
    webhook_secret: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(16))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    # -- what the test does, as the rider and as Stripe -------------------------------

    def pay(self, session_id: str, at: datetime | None = None) -> dict[str, Any]:
        """The rider pays the session: its PaymentIntent succeeds and Stripe books it."""
        session = self.sessions[session_id]
        intent = {
            "id": _new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": session["currency"],
            "status": "succeeded",
            "metadata": dict(session["payment_intent_data_metadata"]),
            "latest_charge": _new_id("ch"),
        }
        self.intents[intent["id"]] = intent
        session.update(payment_intent=intent["id"], payment_status="paid", status="complete")
        self.booked.append(
            Booked(
                "charge",
                intent["id"],
                intent["latest_charge"],
                intent["amount"],
                intent["currency"],
                at or datetime.now(UTC),
                order_id=intent["metadata"].get("order_id", ""),
            )
        )
        return intent

    def session_for(self, order_id: str) -> dict[str, Any]:
        return next(s for s in self.sessions.values() if s["client_reference_id"] == order_id)

    @staticmethod
    def event(kind: str, thing: dict[str, Any]) -> bytes:
        """An Event as Stripe posts it to a webhook endpoint."""
        public = {k: v for k, v in thing.items() if k != "payment_intent_data_metadata"}
        return json.dumps(
            {
                "id": _new_id("evt"),
                "object": "event",
                "api_version": "2026-10-28.endive",
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": kind,
                "data": {"object": public},
            }
        ).encode()

    # -- the HTTP API -----------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake-stripe")

        def authorised() -> bool:
            auth = request.authorization
            bearer = request.headers.get("Authorization", "")
            return bearer == f"Bearer {API_KEY}" or (auth is not None and auth.username == API_KEY)

        def missing(kind: str, ident: str) -> tuple[dict[str, Any], int]:
            return {
                "error": {
                    "code": "resource_missing",
                    "message": f"No such {kind}: '{ident}'",
                    "param": "id",
                    "type": "invalid_request_error",
                }
            }, 404

        @app.before_request
        def record() -> Any:
            self.calls.append(f"{request.method} {request.path}")
            if not authorised():
                return {"error": {"type": "invalid_request_error", "message": "bad key"}}, 401
            return None

        @app.post("/v1/checkout/sessions")
        def create_session() -> Any:
            form = request.form
            key = request.headers.get("Idempotency-Key", "")
            with self.lock:
                if key and key in self.idempotent:
                    return self.idempotent[key]
                session = {
                    "id": _new_id("cs"),
                    "object": "checkout.session",
                    "mode": form["mode"],
                    "amount_total": int(form["line_items[0][price_data][unit_amount]"])
                    * int(form["line_items[0][quantity]"]),
                    "currency": form["line_items[0][price_data][currency]"],
                    "client_reference_id": form.get("client_reference_id"),
                    "metadata": {"order_id": form.get("metadata[order_id]")},
                    "payment_intent_data_metadata": {
                        "order_id": form.get("payment_intent_data[metadata][order_id]")
                    },
                    "payment_intent": None,
                    "payment_status": "unpaid",
                    "status": "open",
                    "success_url": form["success_url"],
                    "expires_at": int(form["expires_at"]),
                }
                session["url"] = f"{self.url}/c/pay/{session['id']}"
                self.sessions[session["id"]] = session
                public = self._public(session)
                if key:
                    self.idempotent[key] = public
            return public

        @app.get("/v1/checkout/sessions/<ident>")
        def show_session(ident: str) -> Any:
            session = self.sessions.get(ident)
            return self._public(session) if session else missing("checkout.session", ident)

        @app.get("/v1/payment_intents/<ident>")
        def show_intent(ident: str) -> Any:
            intent = self.intents.get(ident)
            return intent if intent else missing("payment_intent", ident)

        @app.post("/v1/refunds")
        def create_refund() -> Any:
            form = request.form
            key = request.headers.get("Idempotency-Key", "")
            with self.lock:
                if key and key in self.idempotent:
                    return self.idempotent[key]
                intent = self.intents.get(form["payment_intent"])
                if intent is None or intent["status"] != "succeeded":
                    return missing("payment_intent", form["payment_intent"])
                refund = {
                    "id": _new_id("re"),
                    "object": "refund",
                    "amount": int(form["amount"]),
                    "currency": intent["currency"],
                    "payment_intent": intent["id"],
                    "charge": intent["latest_charge"],
                    "status": self.refund_status,
                    "metadata": {
                        "refund_id": form.get("metadata[refund_id]"),
                        "order_id": form.get("metadata[order_id]"),
                    },
                }
                self.refunds[refund["id"]] = refund
                if refund["status"] == "succeeded":
                    self.booked.append(
                        Booked(
                            "refund",
                            intent["id"],
                            refund["id"],
                            -refund["amount"],
                            refund["currency"],
                            datetime.now(UTC),
                            refund_id=refund["metadata"]["refund_id"] or "",
                        )
                    )
                if key:
                    self.idempotent[key] = refund
            return refund

        @app.post("/v1/reporting/report_runs")
        def create_report_run() -> Any:
            form = request.form
            start = datetime.fromtimestamp(int(form["parameters[interval_start]"]), UTC)
            file_id = _new_id("file")
            self.reports[file_id] = self._report(start.date())
            run = {
                "id": _new_id("frr"),
                "object": "reporting.report_run",
                "report_type": form["report_type"],
                "status": "pending",
                "result": None,
                "file_id": file_id,
            }
            self.reports[run["id"]] = json.dumps(run)
            return {k: v for k, v in run.items() if k != "file_id"}

        @app.get("/v1/reporting/report_runs/<ident>")
        def show_report_run(ident: str) -> Any:
            run = json.loads(self.reports[ident])
            file_id = run.pop("file_id")
            run["status"] = "succeeded"
            run["result"] = {
                "id": file_id,
                "object": "file",
                "purpose": "finance_report_run",
                "type": "csv",
                "url": f"{self.url}/v1/files/{file_id}/contents",
            }
            return run

        @app.get("/v1/files/<ident>/contents")
        def file_contents(ident: str) -> Any:
            return Response(self.reports[ident], content_type="text/csv")

        return app

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if k != "payment_intent_data_metadata"}

    def _report(self, day: date) -> str:
        """The itemized balance report's CSV, in Stripe's documented columns; amounts are
        decimals in major units (2 decimals here: the tests use CNY and EUR)."""
        out = io.StringIO()
        columns = [
            "balance_transaction_id",
            "created_utc",
            "reporting_category",
            "currency",
            "gross",
            "customer_facing_amount",
            "customer_facing_currency",
            "payment_intent_id",
            "source_id",
            "payment_metadata[order_id]",
            "refund_metadata[refund_id]",
        ]
        writer = csv.writer(out)
        writer.writerow(columns)
        for line in self.booked:
            if line.at.date() != day:
                continue
            shown = f"{line.amount / 100:.2f}"
            writer.writerow(
                [
                    _new_id("txn"),
                    line.at.strftime("%Y-%m-%d %H:%M:%S"),
                    line.category,
                    line.currency,
                    shown,
                    f"{abs(line.amount) / 100:.2f}",
                    line.currency,
                    line.intent_id,
                    line.source_id,
                    line.order_id,
                    line.refund_id,
                ]
            )
        writer.writerow(
            [_new_id("txn"), f"{day} 23:00:00", "fee", "cny", "-0.30", "", "", "", "", "", ""]
        )
        return out.getvalue()
