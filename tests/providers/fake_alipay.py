"""A local stand-in for Alipay's open platform, built from its documented shapes, on
127.0.0.1: the gateway (`GET /gateway.do?<signed query>`) checks each request's RSA2
signature with our app's public key and answers as Alipay does, `{"<method>_response":
{...}, "sign": "<RSA2 of that object's exact text>"}`; the cashier a rider's browser opens
is `open()`; `pay()` pays a trade and returns the notification Alipay would post, signed
with Alipay's key (over the sorted fields but `sign` and `sign_type`).

Signing here uses `cryptography`, not the SDK under test, so the two check each other."""

import base64
import functools
import io
import json
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def kept_key(role: str) -> rsa.RSAPrivateKey:
    """One key per role for the whole run: making 2048-bit keys takes a while."""
    return new_key()


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa2_valid(key: rsa.RSAPublicKey, text: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def sorted_text(fields: dict[str, str]) -> str:
    return "&".join(f"{name}={fields[name]}" for name in sorted(fields))


@dataclass
class Trade:
    out_trade_no: str
    total_amount: str
    trade_no: str | None = None
    status: str = "WAIT_BUYER_PAY"
    notify_url: str = ""
    refunds: dict[str, str] = field(default_factory=dict)  # out_request_no -> yuan


class FakeAlipay:
    """Alipay for one app: `app_id`, our app's key pair (we sign requests with its private
    half), and Alipay's key pair (Alipay signs answers and notifications)."""

    def __init__(self) -> None:
        self.app_id = f"2021{uuid.uuid4().int % 10**12:012d}"
        self.app_key = kept_key("app")
        self.alipay_key = kept_key("alipay")
        self.trades: dict[str, Trade] = {}
        self.bills: dict[str, bytes] = {}
        self.requests: list[dict[str, str]] = []  # every verified request's parameters
        self.unsigned_requests = 0
        self.refusing_refunds = False
        # "after": the refund is made and its answer lost; "before": lost before it is made.
        self.losing_refund_answers: str | None = None
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.gateway_url = f"{self.base_url}/gateway.do"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    # What a rider and Alipay's back office do.
    def open(self, pay_url: str) -> Trade:
        """The rider's browser opens the cashier: the URL must be signed by our app."""
        fields = dict(parse_qsl(urlsplit(pay_url).query, keep_blank_values=True))
        assert self._signed_by_app(fields), "the pay URL is not signed by the app"
        assert fields["method"] == "alipay.trade.wap.pay" and fields["app_id"] == self.app_id
        content = json.loads(fields["biz_content"])
        assert content["product_code"] == "QUICK_WAP_PAY"
        trade = self.trades.setdefault(
            content["out_trade_no"], Trade(content["out_trade_no"], content["total_amount"])
        )
        trade.notify_url = fields["notify_url"]
        return trade

    def pay(self, out_trade_no: str) -> bytes:
        """The rider pays: Alipay numbers the trade and posts its notification."""
        trade = self.trades[out_trade_no]
        trade.trade_no = trade.trade_no or f"2026{uuid.uuid4().int % 10**24:024d}"
        trade.status = "TRADE_SUCCESS"
        return self.notification(trade)

    def notification(self, trade: Trade, **changes: str) -> bytes:
        """Alipay's `trade_status_sync` form for `trade`, signed; `changes` alter fields
        before signing (another amount, another trade number...)."""
        fields = {
            "notify_time": _beijing_now(),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "receipt_amount": trade.total_amount,
            "buyer_pay_amount": trade.total_amount,
            "gmt_create": _beijing_now(),
            "gmt_payment": _beijing_now(),
            "subject": "top up",
        }
        fields.update(changes)
        return self.signed_form(fields)

    def signed_form(self, fields: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> bytes:
        signed = {name: value for name, value in fields.items() if name != "sign_type"}
        signature = rsa2_sign(key or self.alipay_key, sorted_text(signed))
        return urlencode({**fields, "sign_type": "RSA2", "sign": signature}).encode()

    def add_bill(self, day: str, detail_csv: str) -> None:
        """The day's bill, zipped as Alipay does: GBK file names and contents."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for suffix, text in (("业务明细", detail_csv), ("业务明细(汇总)", "#汇总\n")):
                info = _GbkNamed(f"20880000_{day.replace('-', '')}_{suffix}.csv")
                archive.writestr(info, text.encode("gbk"))
        self.bills[day] = buffer.getvalue()

    # The HTTP side.
    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        if request.path.startswith("/bills/"):
            day = request.path.removeprefix("/bills/").removesuffix(".zip")
            response = Response(self.bills.get(day, b""), status=200 if day in self.bills else 404)
            return response(environ, start_response)
        fields = dict(request.args)
        if not self._signed_by_app(fields) or fields.get("app_id") != self.app_id:
            self.unsigned_requests += 1
            body = json.dumps({"error_response": {"code": "40002", "msg": "Invalid Arguments"}})
            return Response(body, content_type="application/json")(environ, start_response)
        self.requests.append(fields)
        method = fields["method"]
        content = json.loads(fields.get("biz_content") or "{}")
        if method == "alipay.trade.refund" and self.losing_refund_answers:
            if self.losing_refund_answers == "after":
                self._answer(method, content)
            return Response("", status=502)(environ, start_response)
        answer = self._answer(method, content)
        return self._signed_answer(method, answer)(environ, start_response)

    def _signed_by_app(self, fields: dict[str, str]) -> bool:
        signature = fields.get("sign", "")
        unsigned = {name: value for name, value in fields.items() if name != "sign"}
        return bool(signature) and rsa2_valid(
            self.app_key.public_key(), sorted_text(unsigned), signature
        )

    def _signed_answer(self, method: str, answer: dict[str, object]) -> Response:
        content = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        name = method.replace(".", "_") + "_response"
        signature = rsa2_sign(self.alipay_key, content)
        text = f'{{"{name}":{content},"sign":"{signature}"}}'
        return Response(text, content_type="application/json;charset=utf-8")

    def _answer(self, method: str, content: dict[str, str]) -> dict[str, object]:
        match method:
            case "alipay.trade.query":
                return self._query(content)
            case "alipay.trade.refund":
                return self._refund(content)
            case "alipay.trade.fastpay.refund.query":
                return self._refund_query(content)
            case "alipay.data.dataservice.bill.downloadurl.query":
                day = content["bill_date"]
                if day not in self.bills:
                    return _refused("isp.bill_not_exist", "账单不存在")
                return {
                    "code": "10000",
                    "msg": "Success",
                    "bill_download_url": f"{self.base_url}/bills/{day}.zip",
                }
        return _refused("isv.invalid-method", "不存在的方法名")

    def _trade(self, content: dict[str, str]) -> Trade | None:
        if "out_trade_no" in content:
            return self.trades.get(content["out_trade_no"])
        return next((t for t in self.trades.values() if t.trade_no == content["trade_no"]), None)

    def _query(self, content: dict[str, str]) -> dict[str, object]:
        trade = self._trade(content)
        if trade is None or trade.trade_no is None:
            return _refused("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "buyer_logon_id": "159****5620",
        }

    def _refund(self, content: dict[str, str]) -> dict[str, object]:
        trade = self._trade(content)
        if trade is None or trade.status != "TRADE_SUCCESS":
            return _refused("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if content.get("trade_no") not in (None, trade.trade_no):
            return _refused("ACQ.TRADE_NOT_EXIST", "交易不存在")
        request_no, amount = content["out_request_no"], content["refund_amount"]
        repeat = request_no in trade.refunds
        if not repeat:
            already = sum((Decimal(a) for a in trade.refunds.values()), Decimal(0))
            if self.refusing_refunds or already + Decimal(amount) > Decimal(trade.total_amount):
                return _refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade.refunds[request_no] = amount
        total = sum((Decimal(a) for a in trade.refunds.values()), Decimal(0))
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "159****5620",
            "fund_change": "N" if repeat else "Y",
            "refund_fee": f"{total:.2f}",  # the trade's refunds so far, not this one's
            "send_back_fee": trade.refunds[request_no],
            "gmt_refund_pay": _beijing_now(),
        }

    def _refund_query(self, content: dict[str, str]) -> dict[str, object]:
        trade = self._trade(content)
        amount = trade.refunds.get(content["out_request_no"]) if trade else None
        if trade is None or amount is None:
            return {"code": "10000", "msg": "Success"}  # Alipay: no refund_status yet
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": content["out_request_no"],
            "refund_amount": amount,
            "total_amount": trade.total_amount,
            "refund_status": "REFUND_SUCCESS",
        }


class _GbkNamed(zipfile.ZipInfo):
    """A member named in GBK bytes without the UTF-8 flag, as Alipay's zips are."""

    def _encodeFilenameFlags(self):  # type: ignore[no-untyped-def]  # noqa: N802 (zipfile's)
        return self.filename.encode("gbk"), self.flag_bits


def _refused(sub_code: str, sub_msg: str) -> dict[str, object]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def _beijing_now() -> str:
    return datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).strftime(BEIJING_FORMAT)
