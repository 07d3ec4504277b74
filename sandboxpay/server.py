"""The sandbox gateway's HTTP API.

Merchant calls (signed):
    POST /v1/orders    {merchant_order_id, amount_minor, currency, notify_url, subject}
    POST /v1/refunds   {trade_no, refund_id, amount_minor, notify_url}
    GET  /v1/orders/{trade_no}
    GET  /v1/statements/{YYYY-MM-DD}   the day's statement (UTC), as CSV (signed: the
                                       signature covers an empty body)
The payer:
    GET  /pay/{trade_no}     a page with Pay and Decline
    POST /pay/{trade_no}     {"outcome": "success"|"failure", "repeat": 1, "delay_ms": 0,
                              "stale_failure_after": false}
Faults for every later call:
    POST /control      {"fail_refunds": bool, "repeat": n, "delay_ms": n}

Notifications are POSTed to notify_url as signed JSON
{event, trade_no, merchant_order_id | refund_id, amount_minor, currency} and retried
with back-off until the merchant answers 2xx with {"result": "success"}.

The statement lists every payment taken and refund paid on the day, one a line, under
the header `booked_at,kind,trade_no,reference,amount_minor,currency`: `booked_at` ISO 8601
UTC, `kind` `payment` or `refund`, `reference` the merchant's order id (payments) or
refund id (refunds), `amount_minor` a positive integer in the currency's minor unit.
"""

import csv
import html
import io
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests
from flask import Flask, Response, jsonify, request
from iso4217 import Currency

from sandboxpay.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, is_authentic, signed_headers

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (0.2, 0.5, 1, 2, 5, 10)


@dataclass
class Order:
    trade_no: str
    merchant_order_id: str
    amount_minor: int
    currency: str
    notify_url: str
    subject: str
    state: str = "pending"
    refunded_minor: int = 0
    paid_at: datetime | None = None


@dataclass(frozen=True)
class Booked:
    """A movement of money on the statement."""

    at: datetime
    kind: str  # "payment" or "refund"
    trade_no: str
    reference: str
    amount_minor: int
    currency: str


STATEMENT_COLUMNS = ("booked_at", "kind", "trade_no", "reference", "amount_minor", "currency")


def statement_csv(lines: list[Booked]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for line in sorted(lines, key=lambda booked: booked.at):
        at = line.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        row = (at, line.kind, line.trade_no, line.reference, line.amount_minor, line.currency)
        writer.writerow(row)
    return out.getvalue()


def shown_amount(amount_minor: int, currency: str) -> str:
    """The amount as a payer reads it, by the currency's ISO 4217 minor unit: 1000 EUR ->
    "10.00 EUR", 130 JPY -> "130 JPY", 1500 KWD -> "1.500 KWD" (2 digits for a code the
    list does not know: the sandbox takes whatever a merchant sends)."""
    member = Currency.__members__.get(currency)
    exponent = member.exponent if member is not None and member.exponent is not None else 2
    if exponent == 0:
        return f"{amount_minor} {currency}"
    whole, part = divmod(amount_minor, 10**exponent)
    return f"{whole}.{part:0{exponent}d} {currency}"


@dataclass
class Faults:
    fail_refunds: bool = False
    repeat: int = 1
    delay_ms: int = 0


@dataclass
class Gateway:
    secret: bytes
    orders: dict[str, Order] = field(default_factory=dict)
    by_merchant_id: dict[str, str] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    booked: list[Booked] = field(default_factory=list)

    def notify(self, url: str, event: dict[str, Any], repeat: int, delay_ms: int) -> None:
        for copy in range(repeat):
            thread = threading.Thread(
                target=self._deliver, args=(url, event, delay_ms / 1000 * (copy + 1)), daemon=True
            )
            thread.start()

    def _deliver(self, url: str, event: dict[str, Any], delay: float) -> None:
        time.sleep(delay)
        body = json.dumps(event).encode()
        for wait in (0.0, *RETRY_DELAYS_SECONDS):
            time.sleep(wait)
            try:
                answer = requests.post(
                    url, data=body, headers=signed_headers(self.secret, body), timeout=5
                )
                if answer.ok and answer.json().get("result") == "success":
                    self.delivered.append(event)
                    return
            except (requests.RequestException, ValueError) as error:
                log.info("notification to %s failed: %s", url, error)
        log.warning("gave up notifying %s of %s", url, event["event"])


def create_gateway_app(secret: bytes) -> Flask:
    app = Flask("sandboxpay")
    gateway = Gateway(secret)
    app.extensions["gateway"] = gateway

    def refuse(status: int, message: str) -> tuple[Response, int]:
        return jsonify(error={"message": message}), status

    def signed_body() -> dict[str, Any] | None:
        body = request.get_data()
        if not is_authentic(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
        ):
            return None
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else None

    @app.post("/v1/orders")
    def create_order() -> Any:
        body = signed_body()
        if body is None:
            return refuse(401, "bad signature")
        amount = body.get("amount_minor")
        if not isinstance(amount, int) or amount <= 0:
            return refuse(400, "amount_minor must be a positive integer")
        with gateway.lock:
            existing = gateway.by_merchant_id.get(body["merchant_order_id"])
            if existing is None:
                order = Order(
                    f"T{uuid.uuid4().hex[:20].upper()}",
                    body["merchant_order_id"],
                    amount,
                    body["currency"],
                    body["notify_url"],
                    body.get("subject", ""),
                )
                gateway.orders[order.trade_no] = order
                gateway.by_merchant_id[order.merchant_order_id] = order.trade_no
                existing = order.trade_no
        order = gateway.orders[existing]
        return {
            "trade_no": order.trade_no,
            "pay_url": f"{request.host_url}pay/{order.trade_no}",
            "state": order.state,
        }, 201

    @app.get("/v1/orders/<trade_no>")
    def show_order(trade_no: str) -> Any:
        order = gateway.orders.get(trade_no)
        if order is None:
            return refuse(404, "no such order")
        return {
            "trade_no": trade_no,
            "merchant_order_id": order.merchant_order_id,
            "state": order.state,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
            "refunded_minor": order.refunded_minor,
        }

    @app.get("/pay/<trade_no>")
    def payment_page(trade_no: str) -> Any:
        order = gateway.orders.get(trade_no)
        if order is None:
            return refuse(404, "no such order")
        amount = html.escape(shown_amount(order.amount_minor, order.currency))
        return (
            "<!doctype html><meta name=viewport content='width=device-width'>"
            f"<title>Sandbox pay</title><h1>Pay {amount}</h1><p>{html.escape(order.subject)}</p>"
            f"<form method=post><button name=outcome value=success>Pay</button> "
            f"<button name=outcome value=failure>Decline</button></form>"
        )

    @app.post("/pay/<trade_no>")
    def pay(trade_no: str) -> Any:
        order = gateway.orders.get(trade_no)
        if order is None:
            return refuse(404, "no such order")
        body = request.get_json(silent=True) or request.form.to_dict()
        outcome = body.get("outcome", "success")
        if outcome not in ("success", "failure"):
            return refuse(400, "outcome is success or failure")
        repeat = int(body.get("repeat", gateway.faults.repeat))
        delay_ms = int(body.get("delay_ms", gateway.faults.delay_ms))
        with gateway.lock:
            if order.state == "pending" or (order.state == "failed" and outcome == "success"):
                order.state = "paid" if outcome == "success" else "failed"
                if order.state == "paid":
                    order.paid_at = datetime.now(UTC)
                    gateway.booked.append(
                        Booked(
                            order.paid_at,
                            "payment",
                            trade_no,
                            order.merchant_order_id,
                            order.amount_minor,
                            order.currency,
                        )
                    )
        event = {
            "event": "payment.succeeded" if outcome == "success" else "payment.failed",
            "trade_no": trade_no,
            "merchant_order_id": order.merchant_order_id,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
        }
        gateway.notify(order.notify_url, event, repeat, delay_ms)
        if body.get("stale_failure_after"):
            # An earlier attempt's failure, arriving after the success: the merchant must ignore it.
            stale = {**event, "event": "payment.failed"}
            gateway.notify(order.notify_url, stale, 1, delay_ms + 300)
        return {"trade_no": trade_no, "state": order.state}

    @app.post("/v1/refunds")
    def refund() -> Any:
        body = signed_body()
        if body is None:
            return refuse(401, "bad signature")
        order = gateway.orders.get(body.get("trade_no", ""))
        amount = body.get("amount_minor")
        if order is None or order.state != "paid":
            return refuse(404, "no paid order with this trade_no")
        if (
            not isinstance(amount, int)
            or not 0 < amount <= order.amount_minor - order.refunded_minor
        ):
            return refuse(400, "refund exceeds what was paid")
        succeeded = not gateway.faults.fail_refunds
        if succeeded:
            with gateway.lock:
                order.refunded_minor += amount
                gateway.booked.append(
                    Booked(
                        datetime.now(UTC),
                        "refund",
                        order.trade_no,
                        str(body["refund_id"]),
                        amount,
                        order.currency,
                    )
                )
        event = {
            "event": "refund.succeeded" if succeeded else "refund.failed",
            "trade_no": order.trade_no,
            "refund_id": body["refund_id"],
            "amount_minor": amount,
            "currency": order.currency,
        }
        gateway.notify(body["notify_url"], event, gateway.faults.repeat, gateway.faults.delay_ms)
        return {"refund_id": body["refund_id"], "state": "processing"}, 202

    @app.get("/v1/statements/<day>")
    def statement(day: str) -> Any:
        if not is_authentic(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            b"",
        ):
            return refuse(401, "bad signature")
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            return refuse(400, "the day is YYYY-MM-DD")
        with gateway.lock:
            lines = [line for line in gateway.booked if line.at.date() == wanted]
        return Response(statement_csv(lines), content_type="text/csv")

    @app.post("/control")
    def control() -> Any:
        body = request.get_json(silent=True) or {}
        gateway.faults = Faults(
            fail_refunds=bool(body.get("fail_refunds", False)),
            repeat=int(body.get("repeat", 1)),
            delay_ms=int(body.get("delay_ms", 0)),
        )
        return {"faults": gateway.faults.__dict__}

    return app
