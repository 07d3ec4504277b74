"""A local stand-in for WeChat Pay's API v3, built from its documented shapes, on
127.0.0.1. It checks each request's `Authorization: WECHATPAY2-SHA256-RSA2048 ...`
(signed with the merchant's key over method, path, timestamp, nonce and body) and signs
each answer with the platform key (Wechatpay-Timestamp/Nonce/Signature/Serial headers);
`/v3/certificates` hands the platform certificate encrypted with the APIv3 key
(AEAD_AES_256_GCM), as WeChat Pay does. `pay()` pays an order and returns the
TRANSACTION.SUCCESS notification, its resource encrypted and the whole signed.

Signing and encrypting here use `cryptography` directly, not the SDK under test."""

import base64
import gzip
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.providers.fake_alipay import kept_key, private_pem, public_pem

AUTHORIZATION = re.compile(r"WECHATPAY2-SHA256-RSA2048 (?P<fields>.+)")


def certificate_for(key: rsa.RSAPrivateKey, serial: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(
        key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()


def encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's nonces
    sealed = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext.encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(sealed).decode(),
    }


@dataclass
class Transaction:
    out_trade_no: str
    total: int
    notify_url: str
    payer_client_ip: str
    transaction_id: str | None = None
    trade_state: str = "NOTPAY"
    refunds: dict[str, dict] = field(default_factory=dict)  # out_refund_no -> refund


class FakeWechatPay:
    def __init__(self) -> None:
        self.merchant_id = "1900000109"
        self.app_id = "wxd678efh567hg6787"
        self.apiv3_key = secrets.token_hex(16)  # 32 characters
        self.merchant_key = kept_key("merchant")
        self.merchant_serial = secrets.token_hex(20).upper()
        self.platform_key = kept_key("platform")
        self.platform_serial = uuid.uuid4().int >> 64
        self.platform_certificate = certificate_for(self.platform_key, self.platform_serial)
        # Set: WeChat Pay signs with its public key of this id, as for merchants who have
        # no platform certificates.
        self.public_key_id: str | None = None
        self.transactions: dict[str, Transaction] = {}
        self.bills: dict[str, bytes] = {}
        self.swapped_bills: dict[str, bytes] = {}  # served instead of the file hashed
        self.requests: list[tuple[str, str]] = []  # (method, path) of every signed request
        self.refused = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.api_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    @property
    def merchant_private_pem(self) -> str:
        return private_pem(self.merchant_key)

    @property
    def platform_public_pem(self) -> str:
        return public_pem(self.platform_key)

    # What a rider and WeChat Pay's back office do.
    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        trade = self.transactions[out_trade_no]
        trade.transaction_id = trade.transaction_id or f"42000{uuid.uuid4().int % 10**23:023d}"
        trade.trade_state = "SUCCESS"
        return self.notification("TRANSACTION.SUCCESS", self.transaction(trade))

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> tuple[dict, bytes]:
        trade = next(t for t in self.transactions.values() if out_refund_no in t.refunds)
        refund = trade.refunds[out_refund_no]
        refund["status"] = status
        resource = {
            "mchid": self.merchant_id,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "out_refund_no": out_refund_no,
            "refund_id": refund["refund_id"],
            "refund_status": status,
            "success_time": "2026-12-01T10:00:00+08:00",
            "user_received_account": "招商银行信用卡0403",
            "amount": {
                "total": trade.total,
                "refund": refund["amount"]["refund"],
                "payer_total": trade.total,
                "payer_refund": refund["amount"]["refund"],
            },
        }
        return self.notification(f"REFUND.{status}", resource)

    def transaction(self, trade: Transaction, **changes: object) -> dict[str, object]:
        record: dict[str, object] = {
            "appid": self.app_id,
            "mchid": self.merchant_id,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": "MWEB",
            "trade_state": trade.trade_state,
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "success_time": "2026-12-01T09:00:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": trade.total,
                "payer_total": trade.total,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        record.update(changes)
        return record

    def notification(
        self,
        event_type: str,
        resource: dict[str, object],
        *,
        signed_at: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
        apiv3_key: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body WeChat Pay posts: the resource encrypted with the APIv3
        key, the body signed with the platform key at `signed_at` (now)."""
        original = "refund" if event_type.startswith("REFUND") else "transaction"
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": "2026-12-01T09:00:01+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功",
                "resource": {
                    "original_type": original,
                    **encrypt(apiv3_key or self.apiv3_key, json.dumps(resource), original),
                },
            },
            ensure_ascii=False,
        )
        return self._signed_headers(body, signed_at, key), body.encode()

    def add_bill(self, day: str, text: str) -> None:
        self.bills[day] = text.encode("utf-8")

    # The HTTP side.
    def _signed_headers(
        self, body: str, signed_at: int | None = None, key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        timestamp, nonce = str(signed_at or int(time.time())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(
                key or self.platform_key, f"{timestamp}\n{nonce}\n{body}\n"
            ),
            "Wechatpay-Serial": self.public_key_id or f"{self.platform_serial:X}",
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _answer(self, status: int, record: object) -> Response:
        body = json.dumps(record, ensure_ascii=False) if record is not None else ""
        headers = self._signed_headers(body)
        return Response(body, status=status, headers=headers, content_type="application/json")

    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        path = request.full_path.rstrip("?") if request.query_string else request.path
        body = request.get_data(as_text=True)
        if not self._signed_by_merchant(request, path, body):
            self.refused += 1
            answer = Response(
                json.dumps({"code": "SIGN_ERROR", "message": "签名错误"}),
                status=401,
                content_type="application/json",
            )
            return answer(environ, start_response)
        self.requests.append((request.method, request.path))
        return self._route(request, body)(environ, start_response)

    def _signed_by_merchant(self, request: Request, path: str, body: str) -> bool:
        found = AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
        if found is None:
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', found["fields"]))
        if (fields.get("mchid"), fields.get("serial_no")) != (
            self.merchant_id,
            self.merchant_serial,
        ):
            return False
        message = (
            f"{request.method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body}\n"
        )
        try:
            self.merchant_key.public_key().verify(
                base64.b64decode(fields["signature"]),
                message.encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError, KeyError):
            return False
        return abs(time.time() - int(fields["timestamp"])) < 300

    def _route(self, request: Request, body: str) -> Response:
        path = request.path
        if path == "/v3/certificates":
            return self._certificates()
        if path == "/v3/pay/transactions/h5" and request.method == "POST":
            return self._h5(json.loads(body))
        if path.startswith("/v3/pay/transactions/id/"):
            return self._query(path.rsplit("/", 1)[1], request.args.get("mchid", ""))
        if path == "/v3/refund/domestic/refunds" and request.method == "POST":
            return self._refund(json.loads(body))
        if path == "/v3/bill/tradebill":
            return self._bill(request.args["bill_date"])
        if path == "/v3/billdownload/file":
            day = request.args["token"]
            served = self.swapped_bills.get(day, self.bills[day])
            return Response(gzip.compress(served), content_type="application/octet-stream")
        return self._answer(404, {"code": "NOT_FOUND", "message": "无此接口"})

    def _certificates(self) -> Response:
        pem = self.platform_certificate.public_bytes(serialization.Encoding.PEM).decode()
        now = datetime.now(UTC)
        return self._answer(
            200,
            {
                "data": [
                    {
                        "serial_no": f"{self.platform_serial:X}",
                        "effective_time": (now - timedelta(days=1)).isoformat(),
                        "expire_time": (now + timedelta(days=365)).isoformat(),
                        "encrypt_certificate": encrypt(self.apiv3_key, pem, "certificate"),
                    }
                ]
            },
        )

    def _h5(self, order: dict) -> Response:
        assert (order["appid"], order["mchid"]) == (self.app_id, self.merchant_id)
        assert order["scene_info"]["h5_info"]["type"] == "Wap"
        assert order["amount"]["currency"] == "CNY" and isinstance(order["amount"]["total"], int)
        assert 6 <= len(order["out_trade_no"]) <= 32
        self.transactions[order["out_trade_no"]] = Transaction(
            order["out_trade_no"],
            order["amount"]["total"],
            order["notify_url"],
            order["scene_info"]["payer_client_ip"],
        )
        prepay = f"wx{uuid.uuid4().hex[:30]}"
        url = f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay}&package=1"
        return self._answer(200, {"h5_url": url})

    def _query(self, transaction_id: str, mchid: str) -> Response:
        trade = next(
            (t for t in self.transactions.values() if t.transaction_id == transaction_id), None
        )
        if trade is None or mchid != self.merchant_id:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        return self._answer(200, self.transaction(trade))

    def _refund(self, asked: dict) -> Response:
        assert ("transaction_id" in asked) != ("out_trade_no" in asked)  # one of the two
        trade = self.transactions.get(asked.get("out_trade_no", "")) or next(
            (
                t
                for t in self.transactions.values()
                if t.transaction_id == asked.get("transaction_id")
            ),
            None,
        )
        if trade is None or trade.trade_state not in ("SUCCESS", "REFUND"):
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        earlier = trade.refunds.get(asked["out_refund_no"])
        if earlier is None:
            refunded = sum(r["amount"]["refund"] for r in trade.refunds.values())
            if refunded + asked["amount"]["refund"] > trade.total:
                return self._answer(
                    400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}
                )
            earlier = {
                "refund_id": f"50000{uuid.uuid4().int % 10**24:024d}",
                "out_refund_no": asked["out_refund_no"],
                "transaction_id": trade.transaction_id,
                "out_trade_no": trade.out_trade_no,
                "channel": "ORIGINAL",
                "create_time": "2026-12-01T10:00:00+08:00",
                "status": "PROCESSING",
                "notify_url": asked["notify_url"],
                "amount": {
                    "total": trade.total,
                    "refund": asked["amount"]["refund"],
                    "payer_total": trade.total,
                    "payer_refund": asked["amount"]["refund"],
                    "currency": "CNY",
                },
            }
            trade.refunds[asked["out_refund_no"]] = earlier
            trade.trade_state = "REFUND"
        return self._answer(200, {k: v for k, v in earlier.items() if k != "notify_url"})

    def _bill(self, day: str) -> Response:
        if day not in self.bills:
            return self._answer(400, {"code": "NO_STATEMENT_EXIST", "message": "账单不存在"})
        return self._answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(self.bills[day]).hexdigest(),
                "download_url": f"{self.api_url}/v3/billdownload/file?token={day}",
            },
        )
