"""Alipay (open platform, RSA2) on the payment port: phone-browser pay, notifications,
queries, refunds and the daily statement, through the `python-alipay-sdk` package.

Why that SDK and not the official `alipay-sdk-python`: both sign RSA2 and reach the same
gateway, but `python-alipay-sdk` (fzlee) is one small module, released for Python 3.11
and 3.12 (3.4.0, 2025), signs with pycryptodomex and has `verify()` for asynchronous
notifications (it leaves `sign` and `sign_type` out of the signed string, as Alipay's docs
say) and `alipay.trade.wap.pay`; the official wheel is 33 MB of 36,000 generated modules
still classified for Python 2.6/3.3, signs with the pure-Python `rsa`, and has no function
that verifies a notification (only a raw `verify_with_rsa`).

The flow (Alipay's docs: "手机网站支付"): `create_order` signs `alipay.trade.wap.pay`
into a gateway URL the rider's browser opens (Alipay numbers the trade only once paid);
Alipay posts a form to the notify URL, believed here only when signed with Alipay's key
for our app, and answered with the text `success`; `alipay.trade.refund` settles a refund
in its answer (idempotent on `out_request_no`, our refund id), so the refund's outcome is
returned as its notification; when the answer is lost, the refund query says what
happened, so a refund is never both paid by Alipay and given back to the wallet. The
rules that believe a notification are the use case's (`rental.services.payments`), the
same for every provider.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import requests
from alipay import AliPay, AliPayConfig
from alipay.exceptions import AliPayException, AliPayValidationError

from rental.adapters.alipay_statement import statement_lines
from rental.adapters.cny import CURRENCY, beijing, fen, pem_text, yuan
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

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
TIMEOUT_SECONDS = 10
SUCCESS_CODE = "10000"  # Alipay's "接口调用成功"
REFUSED_CODE = "40004"  # a business refusal; 20000 (service unavailable) leaves it unknown
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
PAID_STATES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
CLOSED_STATE = "TRADE_CLOSED"  # unpaid and expired, or paid and fully refunded


@dataclass
class AlipayGateway:
    """Our app at Alipay: its id, the SDK holding our private key and Alipay's public key,
    and the gateway URL (Alipay's own unless a test or staging points elsewhere)."""

    app_id: str
    client: Any  # alipay.AliPay (the SDK has no type hints)
    gateway_url: str = PRODUCTION_GATEWAY
    name: str = "alipay"
    statement_time_zone: str = "Asia/Shanghai"  # its bill's day, as reconcile reads it

    @classmethod
    def from_settings(
        cls, app_id: str, app_private_key: str, alipay_public_key: str, gateway_url: str
    ) -> "AlipayGateway":
        """Keys as PEM text or files (`rental.adapters.cny.pem_text`): our app's RSA
        private key, and Alipay's public key from the open platform's console."""
        client = AliPay(
            appid=app_id,
            app_private_key_string=pem_text(app_private_key),
            alipay_public_key_string=pem_text(alipay_public_key),
            sign_type="RSA2",
            config=AliPayConfig(timeout=TIMEOUT_SECONDS),
        )
        url = gateway_url or PRODUCTION_GATEWAY
        # The SDK knows only Alipay's production and sandbox URLs; its requests go here.
        client._gateway = url
        return cls(app_id, client, url)

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        """The signed `alipay.trade.wap.pay` URL the rider's browser opens; no trade number
        yet. Alipay closes the trade when our order expires (`time_expire`)."""
        _require_cny(order.currency)
        site = _site_of(notify_url)
        content = {
            "out_trade_no": str(order.id),
            "total_amount": yuan(order.amount_minor),
            "subject": f"{order.purpose.value.replace('_', ' ')} {order.id}",
            "product_code": "QUICK_WAP_PAY",
            "quit_url": site,  # where the rider lands on leaving the cashier
        }
        if order.expires_at is not None:
            content["time_expire"] = beijing(order.expires_at)
        body = self.client.build_body(
            "alipay.trade.wap.pay",
            content,
            notify_url=notify_url,
            return_url=site,
            timestamp=_now_in_beijing(),
        )
        return GatewayOrder(None, f"{self.gateway_url}?{self.client.sign_data(body)}")

    def acknowledgement(self) -> GatewayAnswer:
        """Alipay stops retrying on the plain text `success` (anything else: it retries
        for 25 hours)."""
        return GatewayAnswer(200, b"success", "text/plain")

    def parse_notification(
        self, headers: dict[str, str], body: bytes
    ) -> Notification | IgnoredNotification | None:
        """Alipay's form post (`notify_type=trade_status_sync`), if signed RSA2 with
        Alipay's key for our app: TRADE_SUCCESS and TRADE_FINISHED are a payment,
        TRADE_CLOSED an unpaid trade closed; a refund's news and other states need
        nothing (refunds are settled in `request_refund`'s answer)."""
        fields = _signed_fields(self.client, body)
        if fields is None:
            return None
        if fields.get("app_id") != self.app_id:
            log.error("alipay notification for app %s, not ours", fields.get("app_id"))
            return None
        status = fields.get("trade_status", "")
        if fields.get("out_biz_no") or fields.get("refund_fee"):
            return IgnoredNotification(f"refund {status}")
        if status in PAID_STATES:
            event = GatewayEvent.PAYMENT_SUCCEEDED
        elif status == CLOSED_STATE:
            event = GatewayEvent.PAYMENT_FAILED
        else:
            return IgnoredNotification(status or "no trade_status")
        try:
            return Notification(
                event=event.value,
                trade_no=fields["trade_no"],
                reference=fields["out_trade_no"],
                amount_minor=fen(fields["total_amount"]),
                currency=CURRENCY,
            )
        except (KeyError, ValueError):
            log.error("alipay notification without its trade or amount")
            return None

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """`alipay.trade.query` of Alipay's trade `trade_no`; None when Alipay never
        issued it (ACQ.TRADE_NOT_EXIST)."""
        answer = self._call("alipay.trade.query", {"trade_no": trade_no})
        if answer.get("code") != SUCCESS_CODE:
            if answer.get("sub_code") == TRADE_NOT_EXIST:
                return None
            raise GatewayError(f"alipay.trade.query refused: {_reason(answer)}")
        try:
            return GatewayPayment(
                trade_no=str(answer["trade_no"]),
                reference=str(answer["out_trade_no"]),
                amount_minor=fen(str(answer["total_amount"])),
                currency=CURRENCY,
                paid=answer.get("trade_status") in PAID_STATES,
            )
        except (KeyError, ValueError) as exc:
            raise GatewayError(f"alipay.trade.query answered without {exc}") from exc

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        """`alipay.trade.refund`, settled in its answer: code 10000 with `fund_change` Y
        is the refund paid (returned as its notification). A refusal (40004) raises
        GatewayError. Any other answer, or none, leaves the outcome unknown: Alipay is
        asked with `alipay.trade.fastpay.refund.query` (a request number is paid once,
        so asking is safe): found, it was paid; not found, it was not (GatewayError);
        no answer, None, the refund staying in progress until the statement settles it."""
        _require_cny(order.currency)
        content = {
            "out_trade_no": str(order.id),
            "refund_amount": yuan(refund.amount_minor),
            "out_request_no": str(refund.id),  # Alipay pays one request number once
            "refund_reason": f"refund {refund.id}",
        }
        if order.trade_no:
            content["trade_no"] = order.trade_no
        try:
            answer = self._call("alipay.trade.refund", content)
        except GatewayError:
            log.warning("alipay did not answer refund %s; asking after it", refund.id)
            return self._refund_outcome(refund, order)
        code = answer.get("code")
        if code == SUCCESS_CODE and answer.get("fund_change") == "Y":
            paid_back = str(answer.get("send_back_fee") or content["refund_amount"])
            return _refund_paid(str(answer.get("trade_no", order.trade_no)), refund, paid_back)
        if code == REFUSED_CODE:
            raise GatewayError(f"alipay.trade.refund refused: {_reason(answer)}")
        # fund_change N (a repeat of the request number) or 20000: ask what happened.
        return self._refund_outcome(refund, order)

    def _refund_outcome(self, refund: Refund, order: PaymentOrder) -> Notification | None:
        """Alipay's docs: a refund the query finds, with no refund_status or
        REFUND_SUCCESS, was paid; one it does not find was not made."""
        try:
            answer = self._call(
                "alipay.trade.fastpay.refund.query",
                {"out_trade_no": str(order.id), "out_request_no": str(refund.id)},
            )
        except GatewayError:
            log.warning("alipay cannot say now whether refund %s was paid", refund.id)
            return None
        if answer.get("code") != SUCCESS_CODE:
            log.warning("alipay's refund query for %s: %s", refund.id, _reason(answer))
            return None
        if not answer.get("refund_amount"):
            raise GatewayError(f"alipay made no refund {refund.id}")
        if answer.get("refund_status", "REFUND_SUCCESS") != "REFUND_SUCCESS":
            return None
        trade_no = str(answer.get("trade_no", order.trade_no))
        return _refund_paid(trade_no, refund, str(answer["refund_amount"]))

    def statement(self, day: date) -> list[StatementLine]:
        """The day's trade bill (`alipay.data.dataservice.bill.downloadurl.query`, type
        `trade`): a zip whose 业务明细 CSV lists payments and refunds in Beijing time."""
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        url = answer.get("bill_download_url")
        if answer.get("code") != SUCCESS_CODE or not url:
            raise GatewayError(f"alipay has no bill for {day}: {_reason(answer)}")
        try:
            download = requests.get(str(url), timeout=TIMEOUT_SECONDS)
            download.raise_for_status()
            return statement_lines(download.content)
        except (requests.RequestException, ValueError) as exc:
            raise GatewayError(f"alipay's bill for {day} could not be read: {exc}") from exc

    def _call(self, method: str, content: dict[str, str]) -> dict[str, Any]:
        """One signed request to the gateway, its answer verified with Alipay's key. A
        business refusal is an answer too (its `code`); GatewayError when none came."""
        try:
            answer: dict[str, Any] = self.client.server_api(
                method, content, timestamp=_now_in_beijing()
            )
        except AliPayValidationError as exc:
            raise GatewayError(f"{method}: the answer is not signed by Alipay") from exc
        except (AliPayException, OSError, ValueError) as exc:  # URLError is an OSError
            raise GatewayError(f"{method} did not answer: {exc}") from exc
        return answer


def _signed_fields(client: Any, body: bytes) -> dict[str, str] | None:
    """The form's fields if Alipay signed them (RSA2 over the sorted fields but `sign` and
    `sign_type`), else None."""
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        return None
    signature = fields.pop("sign", "")
    if not signature or fields.get("sign_type") != "RSA2":
        return None
    try:
        if not client.verify(dict(fields), signature):  # verify() pops sign_type: a copy
            return None
    except (AliPayException, ValueError):  # binascii.Error (not base64) is a ValueError
        return None
    return fields


def _refund_paid(trade_no: str, refund: Refund, amount_yuan: str) -> Notification | None:
    try:
        amount_minor = fen(amount_yuan)
    except ValueError:
        log.error("alipay paid refund %s without saying how much", refund.id)
        return None
    return Notification(
        GatewayEvent.REFUND_SUCCEEDED.value, trade_no, str(refund.id), amount_minor, CURRENCY
    )


def _require_cny(currency: str) -> None:
    if currency != CURRENCY:
        raise GatewayError(f"alipay takes {CURRENCY} only, not {currency}")


def _site_of(notify_url: str) -> str:
    """The platform's own address (the notify URL's origin), where the rider returns."""
    scheme, _, rest = notify_url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/app/"


def _now_in_beijing() -> str:
    # The SDK stamps the host's local time; Alipay reads the stamp as Beijing time.
    return beijing(datetime.now(UTC))


def _reason(answer: Mapping[str, Any]) -> str:
    return f"{answer.get('code')} {answer.get('sub_code', '')} {answer.get('sub_msg', '')}"
