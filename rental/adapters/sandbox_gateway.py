"""The platform's client of the sandbox gateway; a real provider is one more class like it."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import requests

from rental.domain.payments import PaymentOrder, Refund
from rental.services.ports import (
    GatewayAnswer,
    GatewayError,
    GatewayOrder,
    GatewayPayment,
    Notification,
    StatementLine,
)
from sandboxpay.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, is_authentic, signed_headers

TIMEOUT_SECONDS = 5


@dataclass
class SandboxGateway:
    base_url: str
    secret: bytes
    name: str = "sandbox"
    statement_time_zone: str = "UTC"  # the day of its statement, as reconcile reads it

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        answer = self._post(
            "/v1/orders",
            {
                "merchant_order_id": str(order.id),
                "amount_minor": order.amount_minor,
                "currency": order.currency,
                "notify_url": notify_url,
                "subject": f"{order.purpose.value.replace('_', ' ')} {order.id}",
            },
        )
        return GatewayOrder(answer["trade_no"], answer["pay_url"])

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        """The sandbox reports refunds later, to `notify_url`, as the card schemes do."""
        self._post(
            "/v1/refunds",
            {
                "trade_no": order.trade_no,
                "refund_id": str(refund.id),
                "amount_minor": refund.amount_minor,
                "notify_url": notify_url,
            },
        )
        return None

    def acknowledgement(self) -> GatewayAnswer:
        return GatewayAnswer(200, b'{"result": "success"}', "application/json")

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification | None:
        """The notification if its signature is ours and fresh, else None."""
        if not is_authentic(
            self.secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body
        ):
            return None
        try:
            event = json.loads(body)
            return Notification(
                event=str(event["event"]),
                trade_no=str(event["trade_no"]),
                reference=str(event.get("merchant_order_id") or event["refund_id"]),
                amount_minor=int(event["amount_minor"]),
                currency=str(event["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """The sandbox's record of `trade_no` (GET /v1/orders/<trade_no>); None on its 404."""
        url = f"{self.base_url.rstrip('/')}/v1/orders/{quote(trade_no, safe='')}"
        try:
            answer = requests.get(url, timeout=TIMEOUT_SECONDS)
            if answer.status_code == HTTPStatus.NOT_FOUND:
                return None
            answer.raise_for_status()
            record = answer.json()
            return GatewayPayment(
                trade_no=str(record["trade_no"]),
                reference=str(record["merchant_order_id"]),
                amount_minor=int(record["amount_minor"]),
                currency=str(record["currency"]),
                paid=record["state"] == "paid",
            )
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise GatewayError(f"the payment gateway did not answer about {trade_no}") from exc

    def statement(self, day: date) -> list[StatementLine]:
        """The sandbox's statement of `day` (UTC): GET /v1/statements/<day>, its CSV
        (columns documented in `sandboxpay.server`). Raises GatewayError."""
        url = f"{self.base_url.rstrip('/')}/v1/statements/{day.isoformat()}"
        try:
            answer = requests.get(
                url, headers=signed_headers(self.secret, b""), timeout=TIMEOUT_SECONDS
            )
            answer.raise_for_status()
            return [
                StatementLine(
                    kind=row["kind"],
                    trade_no=row["trade_no"],
                    reference=row["reference"],
                    amount_minor=int(row["amount_minor"]),
                    currency=row["currency"],
                    at=datetime.fromisoformat(row["booked_at"]),
                )
                for row in csv.DictReader(io.StringIO(answer.text))
            ]
        except (requests.RequestException, KeyError, ValueError) as exc:
            raise GatewayError(f"the sandbox's statement of {day} did not arrive: {exc}") from exc

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        try:
            answer = requests.post(
                self.base_url.rstrip("/") + path,
                data=body,
                headers=signed_headers(self.secret, body),
                timeout=TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
            result: dict[str, Any] = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise GatewayError(f"the payment gateway did not accept {path}: {exc}") from exc
        return result
