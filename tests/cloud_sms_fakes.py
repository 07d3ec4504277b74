"""Local stand-ins for Alibaba Cloud SMS and Tencent Cloud SMS, on 127.0.0.1, built from the
providers' documented request and response shapes (not from their SDKs' code), so that the
adapters are proven against what the SDKs really send:

- Alibaba Cloud, RPC style with the V3 signature (ACS3-HMAC-SHA256): the action and version
  in `x-acs-action` / `x-acs-version`, the parameters in the query string (or a form body),
  `Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=...,Signature=...`
  over the canonical request; answers `{"Code": "OK", ...}` or an error code, and HTTP 400
  `SignatureDoesNotMatch` when the signature does not verify with the test's secret.
- Tencent Cloud, API 3.0 with TC3-HMAC-SHA256: a JSON POST with `X-TC-Action`,
  `X-TC-Version`, `X-TC-Timestamp`, `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/
  <date>/sms/tc3_request, SignedHeaders=content-type;host, Signature=...`; answers
  `{"Response": {"SendStatusSet": [...], "RequestId": ...}}`, or `{"Response": {"Error":
  {...}}}` (also for a signature that does not verify).

Each records the requests it verified, and answers whatever the test queued next.
"""

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass
class Seen:
    """One request the fake received, once verified."""

    action: str
    version: str
    params: dict[str, Any]
    headers: dict[str, str]
    signature_ok: bool


@dataclass
class FakeProvider:
    key_id: str
    key_secret: str
    seen: list[Seen] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    content_type = "application/json;charset=utf-8"  # as the provider labels its answers

    def answer_next(self, status: int, body: dict[str, Any]) -> None:
        self.answers.append((status, body))

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        raise NotImplementedError


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class FakeAliyun(FakeProvider):
    """Dysmsapi's SendSms, V3 signature (Alibaba Cloud docs: "Request syntax and signature
    method V3 for ROA and RPC APIs")."""

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        params = dict(query)
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        signature_ok = self._verifies(method, url.path or "/", query, headers, body)
        self.seen.append(
            Seen(
                headers.get("x-acs-action", ""),
                headers.get("x-acs-version", ""),
                params,
                headers,
                signature_ok,
            )
        )
        request_id = str(uuid.uuid4()).upper()
        if not signature_ok:
            return 400, {
                "RequestId": request_id,
                "HostId": "dysmsapi.aliyuncs.com",
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature does not match our calculation.",
            }
        status, answer = self.answers.pop(0) if self.answers else (200, aliyun_ok())
        return status, {**answer, "RequestId": request_id}

    def _verifies(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> bool:
        authorization = headers.get("authorization", "")
        algorithm, _, fields = authorization.partition(" ")
        parts = dict(item.split("=", 1) for item in fields.split(",") if "=" in item)
        if algorithm != "ACS3-HMAC-SHA256" or parts.get("Credential") != self.key_id:
            return False
        signed = parts.get("SignedHeaders", "").split(";")
        if "host" not in signed or "x-acs-action" not in signed:
            return False
        payload_hash = _sha256_hex(body)
        if headers.get("x-acs-content-sha256") != payload_hash:
            return False
        canonical_query = "&".join(
            f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items())
        )
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
        canonical = "\n".join(
            [method, path, canonical_query, canonical_headers, ";".join(signed), payload_hash]
        )
        to_sign = f"ACS3-HMAC-SHA256\n{_sha256_hex(canonical.encode())}"
        expected = hmac.new(self.key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("Signature", ""))


def aliyun_ok() -> dict[str, Any]:
    return {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}


def aliyun_error(code: str, message: str) -> dict[str, Any]:
    """SendSms's failures come as HTTP 200 with their Code (the API reference's list)."""
    return {"Code": code, "Message": message}


class FakeTencent(FakeProvider):
    """SMS API 2021-01-11 SendSms, TC3-HMAC-SHA256 (Tencent Cloud docs: "Signature v3")."""

    content_type = "application/json"

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        params = json.loads(body or b"{}")
        signature_ok = self._verifies(method, urlsplit(target), headers, body)
        self.seen.append(
            Seen(
                headers.get("x-tc-action", ""),
                headers.get("x-tc-version", ""),
                params,
                headers,
                signature_ok,
            )
        )
        request_id = str(uuid.uuid4())
        if not signature_ok:
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        if self.answers:
            status, answer = self.answers.pop(0)
        else:
            status, answer = 200, tencent_statuses(params.get("PhoneNumberSet", []))
        return status, {"Response": {**answer, "RequestId": request_id}}

    def _verifies(self, method: str, url: Any, headers: dict[str, str], body: bytes) -> bool:
        authorization = headers.get("authorization", "")
        algorithm, _, fields = authorization.partition(" ")
        parts = dict(item.strip().split("=", 1) for item in fields.split(",") if "=" in item)
        key_id, _, scope = parts.get("Credential", "").partition("/")
        date, service, terminator = [*scope.split("/"), "", "", ""][:3]
        if algorithm != "TC3-HMAC-SHA256" or key_id != self.key_id or terminator != "tc3_request":
            return False
        timestamp = headers.get("x-tc-timestamp", "0")
        if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date:
            return False
        signed = parts.get("SignedHeaders", "").split(";")
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
        canonical = "\n".join(
            [
                method,
                url.path or "/",
                url.query,
                canonical_headers,
                ";".join(signed),
                _sha256_hex(body),
            ]
        )
        to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, scope, _sha256_hex(canonical.encode())])
        key = _hmac(_hmac(_hmac(f"TC3{self.key_secret}".encode(), date), service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("Signature", ""))


def tencent_statuses(phones: list[str], code: str = "Ok", message: str = "send success") -> Any:
    """A SendSms answer with one status per number (SendStatusSet)."""
    return {
        "SendStatusSet": [
            {
                "SerialNo": f"5000:{uuid.uuid4().int % 10**20}",
                "PhoneNumber": phone,
                "Fee": 1,
                "SessionContext": "",
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
            for phone in phones
        ]
    }


def tencent_error(code: str, message: str) -> Any:
    """A call that failed as a whole."""
    return {"Error": {"Code": code, "Message": message}}


@contextmanager
def serving(provider: FakeProvider) -> Iterator[FakeProvider]:
    """The fake on 127.0.0.1, on a free port, while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = provider.handle("POST", self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", provider.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
