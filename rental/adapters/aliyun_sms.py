"""Alibaba Cloud SMS (Dysmsapi 2017-05-25, `SendSms`) on the `SmsSender` port, through
Alibaba Cloud's own SDK (`alibabacloud_dysmsapi20170525`), which signs each call
(ACS3-HMAC-SHA256) with the account's AccessKey. It is the one Alibaba keeps for this API
(the older `aliyun-python-sdk-dysmsapi` and its core are in maintenance only); it brings
its own HTTP stack, and takes about a second to import, so `rental.bootstrap` imports this
module only when it is chosen.

The code goes into an approved template as its `${code}` variable, under an approved sign
name: both are made in the provider's console, and named by the settings. The provider's
answer `Code` is "OK" on success; any other is a failure, sorted by whose fault it is
(the provider's error codes: "SendSms" in the Dysmsapi API reference):
the number's (a limit of texts to it, or a number it will not text), or ours or the
provider's (everything else: keys, sign name, template, balance, the service).

The SDK's own types stay in this module.
"""

import json
import logging

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config as SdkConfig

from rental.adapters.cloud_sms import CloudSmsSettings, split_endpoint
from rental.services.ports import SmsError, SmsNumberLimited, SmsNumberRefused

log = logging.getLogger(__name__)

SUCCESS = "OK"
# isv.BUSINESS_LIMIT_CONTROL is the per-number flow control (by default 1 a minute, 5 an
# hour, 10 a day); its message names which one ("分钟级", "小时级", "天级"), so the wait
# follows it. isv.DAY_LIMIT_CONTROL is the day's.
LIMIT_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"}
LIMIT_WAITS = (("天级", 24 * 3600), ("小时级", 3600), ("分钟级", 60))
DEFAULT_LIMIT_WAIT = 60
REFUSED_NUMBER_CODES = {"isv.MOBILE_NUMBER_ILLEGAL"}
# The SDK's timeouts are in milliseconds: a rider is waiting for the answer.
TIMEOUT_MS = 5000


def provider_number(phone: str) -> str:
    """The number as SendSms takes it: a mainland China number without its +86, any other
    as its country code and number without the + (e.g. 85291234567)."""
    digits = phone.removeprefix("+")
    return digits.removeprefix("86") if phone.startswith("+86") else digits


class AliyunSms:
    name = "aliyun"

    def __init__(self, settings: CloudSmsSettings) -> None:
        self._sign_name = settings.sign_name
        self._template_code = settings.template_id
        protocol, host = split_endpoint(settings.endpoint)
        self._client = Client(
            SdkConfig(
                access_key_id=settings.key_id,
                access_key_secret=settings.key_secret,
                region_id=settings.region or "cn-hangzhou",
                endpoint=host or None,  # None: the SDK's own for the region
                protocol=protocol,
                read_timeout=TIMEOUT_MS,
                connect_timeout=TIMEOUT_MS,
            )
        )

    def send_code(self, phone: str, code: str) -> None:
        request = SendSmsRequest(
            phone_numbers=provider_number(phone),
            sign_name=self._sign_name,
            template_code=self._template_code,
            template_param=json.dumps({"code": code}),
        )
        try:
            answer = self._client.send_sms(request).body
        except AlibabaCloudException as exc:  # an HTTP error answer: keys, signature, throttling
            raise refusal(str(exc.code), str(exc.message)) from exc
        except Exception as exc:  # the transport's, raised as Tea's, Dara's or requests' own
            raise SmsError(f"Alibaba Cloud SMS could not be asked: {exc}") from exc
        if answer is None or answer.code != SUCCESS:
            code_, message = (answer.code, answer.message) if answer else (None, None)
            raise refusal(str(code_), str(message))


def refusal(code: str, message: str) -> SmsError:
    """The error for a SendSms answer whose Code is not OK."""
    said = f"Alibaba Cloud SMS answered {code}: {message}"
    if code in LIMIT_CODES:
        wait = 24 * 3600 if code == "isv.DAY_LIMIT_CONTROL" else _limit_wait(message)
        return SmsNumberLimited(said, wait)
    if code in REFUSED_NUMBER_CODES:
        return SmsNumberRefused(said)
    log.error("SMS not sent: %s", said)  # ours to fix: keys, sign name, template, balance
    return SmsError(said)


def _limit_wait(message: str) -> int:
    for word, seconds in LIMIT_WAITS:
        if word in message:
            return seconds
    return DEFAULT_LIMIT_WAIT
