"""WeChat Pay API v3 on the payment port: H5 pay (a phone's browser outside WeChat),
notifications, queries, refunds and the daily trade bill, through `wechatpayv3`.

The SDK's `Core` (wired in `rental.adapters.wechatpay_client`) does what must be exactly
right: it signs each request (the
`WECHATPAY2-SHA256-RSA2048` Authorization, with our merchant key and its certificate's
serial number), downloads WeChat Pay's platform certificates (`/v3/certificates`,
decrypted with the APIv3 key), verifies every answer's and notification's signature with
them, or with WeChat Pay's public key where the merchant has one instead (the
Wechatpay-Signature/Timestamp/Nonce/Serial headers), and decrypts a
notification's resource (AEAD_AES_256_GCM with the APIv3 key). The request bodies are
the documented ones, written here. H5 is the one form used: the rider app is a web app
opened in any browser; JSAPI (inside WeChat) needs each rider's openid, which the
platform does not hold.

What WeChat Pay says is believed by the use case's rule (`rental.services.payments`):
this adapter only checks that a notification is WeChat Pay's, fresh (signed within 5
minutes, so an old body cannot be replayed) and for our merchant and app.
"""

import gzip
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

from wechatpayv3.type import RequestType

from rental.adapters.cny import CURRENCY, beijing
from rental.adapters.wechatpay_client import WechatPayClient, json_answer
from rental.adapters.wechatpay_statement import our_id, statement_lines
from rental.domain.payments import GatewayEvent, PaymentOrder, Refund
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

# WeChat Pay dates each notification; one signed longer ago is a replay (its docs ask
# merchants to refuse those beyond 5 minutes).
FRESH_FOR_SECONDS = 5 * 60
SIGNATURE_HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)
PAID_STATES = frozenset({"SUCCESS", "REFUND"})  # REFUND: paid, then (partly) refunded
REFUND_EVENTS = {
    "REFUND.SUCCESS": GatewayEvent.REFUND_SUCCEEDED,
    "REFUND.ABNORMAL": GatewayEvent.REFUND_FAILED,
    "REFUND.CLOSED": GatewayEvent.REFUND_FAILED,
}


@dataclass
class WechatPayGateway:
    """Our merchant at WeChat Pay: merchant id (mchid), the app id the payments are for,
    and the client that signs, verifies and decrypts (`WechatPayClient`).
    `payer_address` names the rider's IP address, which H5 pay must be given (WeChat Pay
    checks the payment is made from it)."""

    merchant_id: str
    app_id: str
    client: WechatPayClient
    payer_address: Callable[[], str] = lambda: "127.0.0.1"
    name: str = "wechatpay"
    statement_time_zone: str = "Asia/Shanghai"  # its bill's day, as reconcile reads it

    @classmethod
    def from_settings(
        cls,
        *,
        merchant_id: str,
        app_id: str,
        payer_address: Callable[[], str] = lambda: "127.0.0.1",
        **client_settings: Any,
    ) -> "WechatPayGateway":
        """Our merchant and app, and the client's settings (`WechatPayClient.from_settings`:
        keys as PEM text or a file's path)."""
        client = WechatPayClient.from_settings(merchant_id=merchant_id, **client_settings)
        return cls(merchant_id, app_id, client, payer_address)

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        """`POST /v3/pay/transactions/h5`: the `h5_url` the rider's browser opens; the
        trade is numbered (transaction_id) only once paid."""
        _require_cny(order.currency)
        body: dict[str, Any] = {
            "appid": self.app_id,
            "mchid": self.merchant_id,
            "description": f"{order.purpose.value.replace('_', ' ')} {order.id}",
            "out_trade_no": order.id.hex,  # 6-32 characters: the UUID without its dashes
            "notify_url": notify_url,
            "amount": {"total": order.amount_minor, "currency": CURRENCY},
            "scene_info": {"payer_client_ip": self.payer_address(), "h5_info": {"type": "Wap"}},
        }
        if order.expires_at is not None:  # RFC 3339 in Beijing time, as documented
            body["time_expire"] = beijing(order.expires_at).replace(" ", "T") + "+08:00"
        answer = self.client.json(RequestType.POST, "/v3/pay/transactions/h5", body)
        try:
            return GatewayOrder(None, str(answer["h5_url"]))
        except KeyError as exc:
            raise GatewayError("wechat pay answered the order without its h5_url") from exc

    def acknowledgement(self) -> GatewayAnswer:
        """API v3 takes 200 or 204 as received; 204 needs no body."""
        return GatewayAnswer(HTTPStatus.NO_CONTENT, b"", "text/plain")

    def parse_notification(
        self, headers: dict[str, str], body: bytes
    ) -> Notification | IgnoredNotification | None:
        """WeChat Pay's JSON notification if signed by its platform certificate within
        the last 5 minutes, for our merchant: TRANSACTION.SUCCESS is a payment,
        REFUND.SUCCESS a refund paid, REFUND.ABNORMAL or REFUND.CLOSED one that failed;
        other events need nothing."""
        signed = {name: _header(headers, name) for name in SIGNATURE_HEADERS}
        if not _fresh(signed["Wechatpay-Timestamp"]):
            log.warning("wechat pay notification not fresh: %s", signed["Wechatpay-Timestamp"])
            return None
        try:
            event = self.client.verified_notification(signed, body)
        except Exception:  # the SDK raises bare Exception for what it refuses
            log.exception("wechat pay notification could not be verified")
            return None
        if not isinstance(event, dict) or not isinstance(event.get("resource"), dict):
            return None
        return self._notification(str(event.get("event_type", "")), event["resource"])

    def _notification(
        self, kind: str, resource: dict[str, Any]
    ) -> Notification | IgnoredNotification | None:
        if resource.get("mchid") != self.merchant_id:
            log.error("wechat pay notification for merchant %s, not ours", resource.get("mchid"))
            return None
        try:
            amount = resource["amount"]
            if kind == "TRANSACTION.SUCCESS":
                if resource.get("appid") != self.app_id or resource["trade_state"] != "SUCCESS":
                    return None
                return Notification(
                    GatewayEvent.PAYMENT_SUCCEEDED.value,
                    str(resource["transaction_id"]),
                    our_id(str(resource["out_trade_no"])),
                    int(amount["total"]),
                    str(amount.get("currency", CURRENCY)),
                )
            if kind in REFUND_EVENTS:
                return Notification(
                    REFUND_EVENTS[kind].value,
                    str(resource["transaction_id"]),
                    our_id(str(resource["out_refund_no"])),
                    int(amount["refund"]),
                    CURRENCY,  # refund notifications carry no currency: CNY is all there is
                )
        except (KeyError, TypeError, ValueError):
            log.error("wechat pay %s notification without its trade or amount", kind)
            return None
        return IgnoredNotification(kind)

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """`GET /v3/pay/transactions/id/{transaction_id}`; None on its 404 (never issued)
        or when the trade is another merchant's."""
        path = f"/v3/pay/transactions/id/{quote(trade_no, safe='')}?mchid={self.merchant_id}"
        status, answer = self.client.request(RequestType.GET, path)
        if status == HTTPStatus.NOT_FOUND:
            return None
        record = json_answer(status, answer, path)
        if record.get("mchid") != self.merchant_id:
            return None
        try:
            return GatewayPayment(
                trade_no=str(record["transaction_id"]),
                reference=our_id(str(record["out_trade_no"])),
                amount_minor=int(record["amount"]["total"]),
                currency=str(record["amount"].get("currency", CURRENCY)),
                paid=record.get("trade_state") in PAID_STATES,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayError(f"wechat pay answered {path} without {exc}") from exc

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        """`POST /v3/refund/domestic/refunds`, `out_refund_no` our refund id (WeChat Pay
        pays one number once); its outcome comes later as REFUND.* notifications. A
        refusal (4xx) raises GatewayError; an unknown outcome (5xx, no answer) leaves the
        refund in progress for the notification or the statement."""
        _require_cny(order.currency)
        # The trade by WeChat Pay's number, or by ours while it has none: one of the two.
        trade = (
            {"transaction_id": order.trade_no} if order.trade_no else {"out_trade_no": order.id.hex}
        )
        body: dict[str, Any] = {
            **trade,
            "out_refund_no": str(refund.id),
            "reason": "refund",
            "notify_url": notify_url,
            "amount": {
                "refund": refund.amount_minor,
                "total": order.amount_minor,
                "currency": CURRENCY,
            },
        }
        try:
            status, answer = self.client.request(
                RequestType.POST, "/v3/refund/domestic/refunds", body
            )
        except GatewayError:
            log.warning("wechat pay did not answer refund %s; its notification will", refund.id)
            return None
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            log.warning("wechat pay answered refund %s with %s", refund.id, status)
            return None
        json_answer(status, answer, "/v3/refund/domestic/refunds")
        return None

    def statement(self, day: date) -> list[StatementLine]:
        """The day's trade bill (`GET /v3/bill/tradebill`, type ALL): its download_url
        gives a gzip of the documented CSV, checked against the SHA1 WeChat Pay names."""
        path = f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL&tar_type=GZIP"
        bill = self.client.json(RequestType.GET, path)
        try:
            url = urlsplit(str(bill["download_url"]))
            expected = str(bill["hash_value"]).lower()
        except KeyError as exc:
            raise GatewayError(f"wechat pay named no bill for {day}") from exc
        # The file is not signed: the SDK downloads it unverified, its hash checks it.
        status, zipped = self.client.request(RequestType.GET, f"{url.path}?{url.query}", skip=True)
        if status != HTTPStatus.OK or not isinstance(zipped, bytes):
            raise GatewayError(f"wechat pay's bill for {day} could not be downloaded: {status}")
        try:
            text = gzip.decompress(zipped)
        except (OSError, EOFError) as exc:
            raise GatewayError(f"wechat pay's bill for {day} is not a gzip") from exc
        if hashlib.sha1(text).hexdigest() != expected:  # WeChat Pay names a SHA1
            raise GatewayError(f"wechat pay's bill for {day} does not match its hash")
        try:
            return statement_lines(text.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise GatewayError(f"wechat pay's bill for {day} could not be read: {exc}") from exc


def _header(headers: dict[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def _fresh(timestamp: str) -> bool:
    try:
        return abs(time.time() - int(timestamp)) <= FRESH_FOR_SECONDS
    except ValueError:
        return False


def _require_cny(currency: str) -> None:
    if currency != CURRENCY:
        raise GatewayError(f"wechat pay takes {CURRENCY} only, not {currency}")
