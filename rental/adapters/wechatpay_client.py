"""The `wechatpayv3` SDK's core, wired for the platform: pointed at the configured API
address (the SDK fixes WeChat Pay's own host), made on first use (making it fetches the
platform certificates, and nothing should reach WeChat Pay while the platform starts),
its bare Exceptions turned into GatewayError at this boundary."""

import json
import logging
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from cryptography.hazmat.primitives import serialization
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType

from rental.adapters.cny import pem_text
from rental.services.ports import GatewayError

log = logging.getLogger(__name__)

PRODUCTION_API = "https://api.mch.weixin.qq.com"
TIMEOUT_SECONDS = (5, 10)  # connect, read
APIV3_KEY_BYTES = 32  # an AES-256 key, as the merchant platform issues it


class _RoutedCore(Core):  # type: ignore[misc]  # the SDK has no type hints
    """The SDK's core, sending to `api_url`: the SDK fixes WeChat Pay's own host, and its
    constructor already fetches the platform certificates from it."""

    def __init__(self, api_url: str, **settings: Any) -> None:
        self._routed_to = api_url.rstrip("/")
        super().__init__(**settings)
        self._gate_way = self._routed_to  # with a public key, no certificates were fetched

    def _init_certificates(self) -> None:
        self._gate_way = self._routed_to
        super()._init_certificates()


@dataclass
class WechatPayClient:
    """Our merchant's credentials: the merchant's API private key (PKCS#8 PEM) and its
    certificate's serial number, the APIv3 key, and where WeChat Pay is."""

    merchant_id: str
    private_key: str
    certificate_serial: str
    apiv3_key: str
    api_url: str = PRODUCTION_API
    certificate_dir: str = ""  # where the SDK keeps the platform certificates it fetched
    # WeChat Pay's public key and its id (PUB_KEY_ID_...), which merchants get instead of
    # platform certificates since 2024: answers and notifications are verified with it.
    public_key: str = ""
    public_key_id: str = ""
    _core: Any = field(default=None, init=False, repr=False)
    _core_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, **settings: Any) -> "WechatPayClient":
        """As the constructor, keys as PEM text or a file's path. Raises ValueError for an
        APIv3 key of another length."""
        settings["private_key"] = _pkcs8(pem_text(settings["private_key"]))
        if settings.get("public_key"):
            settings["public_key"] = pem_text(settings["public_key"])
        if len(settings["apiv3_key"].encode()) != APIV3_KEY_BYTES:
            raise ValueError(f"the WeChat Pay APIv3 key must be {APIV3_KEY_BYTES} characters")
        return cls(**settings)

    def verified_notification(self, headers: dict[str, str], body: bytes) -> Any:
        """The notification with its resource decrypted, None unless WeChat Pay signed
        it; raises (bare Exception, the SDK's) for an algorithm it does not know."""
        return self.core().callback(headers, body)

    def json(
        self, method: RequestType, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        status, answer = self.request(method, path, body)
        return json_answer(status, answer, path)

    def request(
        self,
        method: RequestType,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        skip: bool = False,
    ) -> tuple[int, Any]:
        """One signed request; its answer's signature verified by the SDK (`skip` only for
        the bill file, which WeChat Pay does not sign)."""
        core = self.core()
        try:
            status, answer = core.request(path, method=method, data=body, skip_verify=skip)
        except Exception as exc:  # requests' errors and the SDK's bare ones
            raise GatewayError(f"wechat pay did not answer {path}: {exc}") from exc
        return int(status), answer

    def core(self) -> Any:
        """The SDK's core, made on first use: making it fetches the platform certificates,
        and nothing should reach WeChat Pay while the platform starts."""
        with self._core_lock:
            if self._core is None:
                try:
                    self._core = _RoutedCore(
                        self.api_url,
                        mchid=self.merchant_id,
                        cert_serial_no=self.certificate_serial,
                        private_key=self.private_key,
                        apiv3_key=self.apiv3_key,
                        cert_dir=self.certificate_dir or None,
                        timeout=TIMEOUT_SECONDS,
                        public_key=self.public_key or None,
                        public_key_id=self.public_key_id or None,
                    )
                except Exception as exc:  # the SDK raises bare Exception
                    raise GatewayError(f"wechat pay's certificates are not at hand: {exc}") from exc
            return self._core


def json_answer(status: int, answer: Any, path: str) -> dict[str, Any]:
    """A 2xx answer's JSON object; GatewayError for anything else (WeChat Pay's 4xx and
    5xx bodies name the refusal: `{"code": "...", "message": "..."}`)."""
    if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        raise GatewayError(f"wechat pay refused {path}: {status} {answer}")
    try:
        record = json.loads(answer) if isinstance(answer, str | bytes) else answer
    except ValueError as exc:
        raise GatewayError(f"wechat pay answered {path} with no JSON") from exc
    if not isinstance(record, dict):
        raise GatewayError(f"wechat pay answered {path} with no object")
    return record


def _pkcs8(pem: str) -> str:
    """The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`, WeChat Pay's apiclient_key.pem), the
    only form the SDK reads; an RSA key exported the older way is converted."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
