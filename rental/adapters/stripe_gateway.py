"""Stripe on the payment port, through Stripe's own SDK (`stripe` from PyPI).

A rider pays on a Stripe Checkout page (a Checkout Session in `payment` mode: its `url`
is our `pay_url`). Our order id travels as the session's `client_reference_id` and as
`metadata[order_id]` of both the session and its PaymentIntent, so every event, query and
statement line names it. The trade number is the **PaymentIntent id** (`pi_...`): Stripe
makes the PaymentIntent only when the rider pays (API versions since 2022-08-01), so an
order opens with no trade number, and the PaymentIntent is what refunds, queries and the
balance report name. An expired session that nobody tried to pay has no PaymentIntent:
its failure names the session (`cs_...`), which `query_payment` also answers.

Webhooks are verified by `stripe.Webhook.construct_event` (the `Stripe-Signature` header,
HMAC-SHA256 of "<t>.<body>" with the endpoint's secret, at most 300 s old).

Amounts: Stripe takes "the currency's smallest unit", which is our minor unit (ISO 4217)
except where Stripe's currency table says otherwise: ISK is zero-decimal but sent as a
two-decimal amount (5 ISK is 500), and three-decimal currencies (BHD, JOD, KWD, OMR, TND)
must end in 0. Amounts in reports are decimals in major units.

The daily statement is Stripe's balance report, itemized
(`balance_change_from_activity.itemized.3` through the Reporting API, a CSV of documented
columns): unlike a list of balance transactions it carries the PaymentIntent's and the
refund's metadata (our ids) and the amount the customer was charged, in one file, as the
finance team downloads it from the dashboard.
"""

import csv
import io
import json
import logging
import time as clock
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
import stripe

from rental.domain.errors import InvalidInput
from rental.domain.money import minor_unit_exponent
from rental.domain.payments import PaymentOrder, Refund
from rental.services.ports import (
    GatewayAnswer,
    GatewayError,
    GatewayOrder,
    GatewayPayment,
    IgnoredNotification,
    Notification,
    StatementLine,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
# Stripe's own default and advice: older signatures may be replays.
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 20
# Retried by the SDK with the same idempotency key, so a lost answer never pays twice.
NETWORK_RETRIES = 2
# Checkout Sessions live 30 minutes to 24 hours; ours end with the order, but never
# sooner than Stripe allows (a minute's margin for the trip to Stripe).
SHORTEST_SESSION = timedelta(minutes=31)
LONGEST_SESSION = timedelta(hours=24)
REPORT_TYPE = "balance_change_from_activity.itemized.3"
REPORT_COLUMNS = (
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
)
# Stripe's currency table: zero-decimal in ISO 4217, but sent with two decimals of 00.
TWO_DECIMALS_OF_ZERO = frozenset({"ISK"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"


def stripe_amount(amount_minor: int, currency: str) -> int:
    """Our minor units as Stripe's `amount`. Raises GatewayError for an amount Stripe
    cannot take (a three-decimal amount not ending in 0)."""
    if currency in TWO_DECIMALS_OF_ZERO:
        return amount_minor * 100
    if currency in THREE_DECIMAL and amount_minor % 10:
        raise GatewayError(f"Stripe takes {currency} amounts in multiples of 10 only")
    return amount_minor


def minor_from_stripe(amount: int, currency: str) -> int:
    """Stripe's `amount` in our minor units."""
    return amount // 100 if currency in TWO_DECIMALS_OF_ZERO else amount


def minor_from_report(decimal_amount: str, currency: str) -> int:
    """A report's decimal amount in major units ("12.50", "-3.00") as our minor units,
    by ISO 4217; raises ValueError when it has more digits than the currency."""
    try:
        scaled = abs(Decimal(decimal_amount)).scaleb(minor_unit_exponent(currency))
    except (InvalidOperation, InvalidInput) as exc:
        raise ValueError(decimal_amount) from exc
    if scaled != scaled.to_integral_value():
        raise ValueError(decimal_amount)
    return int(scaled)


@dataclass
class StripeGateway:
    """`api_key` a secret key (sk_...), `webhook_secret` the endpoint's (whsec_...),
    `return_url` where Checkout sends the rider back; `api_base` and `files_base` are
    Stripe's unless set (a local fake in tests)."""

    api_key: str = field(repr=False)  # secrets stay out of logs and tracebacks
    webhook_secret: str = field(repr=False)
    return_url: str
    api_base: str = stripe.DEFAULT_API_BASE
    files_base: str = stripe.DEFAULT_UPLOAD_API_BASE
    name: str = "stripe"
    report_wait_seconds: float = 600
    report_poll_seconds: float = 5
    statement_time_zone: str = "UTC"  # the day of Stripe's statement, as reconcile reads it
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        # The environment's proxies are not ours to follow: the API base says where to go.
        self._session.trust_env = False
        self._client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.api_base, "files": self.files_base},
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS, session=self._session),
            max_network_retries=NETWORK_RETRIES,
        )

    # -- orders and refunds -----------------------------------------------------------

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        """A Checkout Session for `order`; Stripe posts its events to the webhook endpoint
        configured in its dashboard (`notify_url`, for the record)."""
        now = datetime.now(UTC)
        expires = order.expires_at or now
        expires = min(max(expires, now + SHORTEST_SESSION), now + LONGEST_SESSION)
        reference = {"order_id": str(order.id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": stripe_amount(order.amount_minor, order.currency),
                        "product_data": {"name": order.purpose.value.replace("_", " ")},
                    },
                    "quantity": 1,
                }
            ],
            "client_reference_id": str(order.id),
            "metadata": reference,
            "payment_intent_data": {"metadata": reference},
            "success_url": self.return_url,
            "cancel_url": self.return_url,
            "expires_at": int(expires.timestamp()),
        }
        options = {"idempotency_key": f"order-{order.id}"}
        try:
            session = self._client.v1.checkout.sessions.create(params=params, options=options)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe did not open the order: {exc}") from exc
        if not session.url:
            raise GatewayError("Stripe answered a Checkout Session without a url")
        return GatewayOrder(trade_no=None, pay_url=session.url)

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        """A Refund on the order's PaymentIntent, keyed by our refund id (asked twice, it
        is made once). Card refunds usually succeed in the answer: that outcome is
        returned; a pending one is reported later by `refund.updated`."""
        if order.trade_no is None:
            raise GatewayError(f"order {order.id} has no PaymentIntent to refund")
        params = {
            "payment_intent": order.trade_no,
            "amount": stripe_amount(refund.amount_minor, order.currency),
            "metadata": {"refund_id": str(refund.id), "order_id": str(order.id)},
        }
        try:
            made = self._client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": str(refund.id)},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the refund: {exc}") from exc
        return _refund_notification(made.to_dict())

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """Stripe's record of a PaymentIntent (`pi_...`) or, for a session that never got
        one, of the Checkout Session (`cs_...`); None when Stripe has no such object."""
        try:
            if trade_no.startswith("cs_"):
                return _session_payment(
                    self._client.v1.checkout.sessions.retrieve(trade_no).to_dict()
                )
            return _intent_payment(self._client.v1.payment_intents.retrieve(trade_no).to_dict())
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise GatewayError(f"Stripe did not answer about {trade_no}: {exc}") from exc
        except (stripe.StripeError, KeyError, TypeError, ValueError) as exc:
            raise GatewayError(f"Stripe did not answer about {trade_no}: {exc}") from exc

    # -- webhooks ---------------------------------------------------------------------

    def acknowledgement(self) -> GatewayAnswer:
        """Stripe stops retrying on any 2xx, whatever its body: ours says the same as the
        sandbox's, the shape the notification endpoint documents."""
        return GatewayAnswer(200, b'{"result": "success"}', "application/json")

    def parse_notification(
        self, headers: dict[str, str], body: bytes
    ) -> Notification | IgnoredNotification | None:
        """The event, if Stripe signed it within the tolerance; None otherwise."""
        signature = _header(headers, SIGNATURE_HEADER)
        try:
            stripe.Webhook.construct_event(
                body, signature, self.webhook_secret, tolerance=TOLERANCE_SECONDS
            )
            event = json.loads(body)
            return _event_notification(str(event["type"]), event["data"]["object"])
        except stripe.SignatureVerificationError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            log.error("Stripe event signed but unreadable: %s", exc)
            return None

    # -- the daily statement ----------------------------------------------------------

    def statement(self, day: date) -> list[StatementLine]:
        """Stripe's itemized balance report of `day` (UTC): every charge and refund."""
        start = datetime.combine(day, time(), UTC)
        parameters = {
            "interval_start": int(start.timestamp()),
            "interval_end": int((start + timedelta(days=1)).timestamp()),
            "timezone": "Etc/UTC",
            "columns": list(REPORT_COLUMNS),
        }
        try:
            run = self._client.v1.reporting.report_runs.create(
                params={"report_type": REPORT_TYPE, "parameters": parameters}  # type: ignore[typeddict-item]
            )
            deadline = clock.monotonic() + self.report_wait_seconds
            while run.status == "pending" and clock.monotonic() < deadline:
                clock.sleep(self.report_poll_seconds)
                run = self._client.v1.reporting.report_runs.retrieve(run.id)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe did not make the balance report: {exc}") from exc
        if run.status != "succeeded" or run.result is None:
            raise GatewayError(f"Stripe's balance report of {day} is {run.status}")
        return statement_lines(self._download(run.result.id))

    def _download(self, file_id: str) -> str:
        """A file's contents from Stripe's files host, with the secret key (as `curl -u`)."""
        url = f"{self.files_base.rstrip('/')}/v1/files/{file_id}/contents"
        try:
            answer = self._session.get(url, auth=(self.api_key, ""), timeout=TIMEOUT_SECONDS)
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise GatewayError(f"Stripe's report file {file_id} did not download: {exc}") from exc
        return answer.content.decode("utf-8-sig")


def statement_lines(report_csv: str) -> list[StatementLine]:
    """The charges and refunds of an itemized balance report (other categories, such as
    fees and payouts, move no rider's money). Raises GatewayError for a line unreadable."""
    lines = []
    for row in csv.DictReader(io.StringIO(report_csv)):
        kind = {"charge": "payment", "refund": "refund"}.get(row.get("reporting_category", ""))
        if kind is None:
            continue
        try:
            currency = (row.get("customer_facing_currency") or row["currency"]).upper()
            amount = row.get("customer_facing_amount") or row["gross"]
            reference = row[
                "payment_metadata[order_id]" if kind == "payment" else "refund_metadata[refund_id]"
            ]
            lines.append(
                StatementLine(
                    kind=kind,
                    trade_no=row["payment_intent_id"] or row["source_id"],
                    reference=reference or "",
                    amount_minor=minor_from_report(amount, currency),
                    currency=currency,
                    at=datetime.fromisoformat(row["created_utc"]).replace(tzinfo=UTC),
                )
            )
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"Stripe's balance report has a line we cannot read: {row}") from exc
    return lines


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _event_notification(kind: str, thing: dict[str, Any]) -> Notification | IgnoredNotification:
    """What an event of `kind` about `thing` (its `data.object`) tells us."""
    match kind:
        case "checkout.session.completed" | "checkout.session.async_payment_succeeded":
            if thing.get("payment_status") != "paid":  # paid later: its async event says
                return IgnoredNotification(f"{kind} ({thing.get('payment_status')})")
            return _session_notification(thing, PAYMENT_SUCCEEDED, kind)
        case "checkout.session.expired" | "checkout.session.async_payment_failed":
            return _session_notification(thing, PAYMENT_FAILED, kind)
        case "payment_intent.succeeded":
            return _intent_notification(thing, PAYMENT_SUCCEEDED, kind)
        case "payment_intent.payment_failed":
            return _intent_notification(thing, PAYMENT_FAILED, kind)
        case "refund.created" | "refund.updated" | "charge.refund.updated":
            return _refund_notification(thing) or IgnoredNotification(
                f"{kind} ({thing.get('status')})"
            )
        case _:
            return IgnoredNotification(kind)


def _session_notification(
    session: dict[str, Any], event: str, kind: str
) -> Notification | IgnoredNotification:
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get(
        "order_id"
    )
    if not reference:
        return IgnoredNotification(f"{kind} (not one of our orders)")
    currency = str(session["currency"]).upper()
    return Notification(
        event=event,
        trade_no=str(_id(session.get("payment_intent")) or session["id"]),
        reference=str(reference),
        amount_minor=minor_from_stripe(int(session["amount_total"]), currency),
        currency=currency,
    )


def _intent_notification(
    intent: dict[str, Any], event: str, kind: str
) -> Notification | IgnoredNotification:
    reference = (intent.get("metadata") or {}).get("order_id")
    if not reference:
        return IgnoredNotification(f"{kind} (not one of our orders)")
    currency = str(intent["currency"]).upper()
    return Notification(
        event=event,
        trade_no=str(intent["id"]),
        reference=str(reference),
        amount_minor=minor_from_stripe(int(intent["amount"]), currency),
        currency=currency,
    )


def _refund_notification(refund: dict[str, Any]) -> Notification | None:
    """A Refund object's outcome, once settled (succeeded; failed or canceled); None while
    pending, or for a refund not made by us (no refund id in its metadata)."""
    status = refund.get("status")
    reference = (refund.get("metadata") or {}).get("refund_id")
    if status not in ("succeeded", "failed", "canceled") or not reference:
        return None
    currency = str(refund["currency"]).upper()
    return Notification(
        event="refund.succeeded" if status == "succeeded" else "refund.failed",
        trade_no=str(_id(refund.get("payment_intent")) or ""),
        reference=str(reference),
        amount_minor=minor_from_stripe(int(refund["amount"]), currency),
        currency=currency,
    )


def _session_payment(session: dict[str, Any]) -> GatewayPayment:
    currency = str(session["currency"]).upper()
    return GatewayPayment(
        trade_no=str(_id(session.get("payment_intent")) or session["id"]),
        reference=str(
            session.get("client_reference_id") or (session.get("metadata") or {})["order_id"]
        ),
        amount_minor=minor_from_stripe(int(session["amount_total"]), currency),
        currency=currency,
        paid=session.get("payment_status") == "paid",
    )


def _intent_payment(intent: dict[str, Any]) -> GatewayPayment:
    currency = str(intent["currency"]).upper()
    return GatewayPayment(
        trade_no=str(intent["id"]),
        reference=str((intent.get("metadata") or {}).get("order_id", "")),
        amount_minor=minor_from_stripe(int(intent["amount"]), currency),
        currency=currency,
        paid=intent.get("status") == "succeeded",
    )


def _id(value: object) -> str | None:
    """An expandable field's id: Stripe sends either the id or the expanded object."""
    if isinstance(value, dict):
        return str(value["id"])
    return str(value) if value else None
