"""Tencent Cloud SMS (API 2021-01-11, `SendSms`) on the `SmsSender` port, through Tencent
Cloud's own SDK (`tencentcloud-sdk-python-sms`), which signs each call (TC3-HMAC-SHA256)
with the account's SecretId and SecretKey. That package holds the SMS product alone, on
Tencent's common core (requests); `tencentcloud-sdk-python` would bring every product's.

The code is the one parameter ({1}) of an approved template, under an approved sign name,
sent by the SMS application `SmsSdkAppId`: all made in the provider's console and named by
the settings. A call that fails as a whole raises the SDK's exception with an error code;
one that went through reports each number's fate in `SendStatusSet[].Code`, "Ok" when sent.
Both are sorted by whose fault it is (the provider's error codes: "SendSms" in the SMS API
reference): the number's (a limit of texts to it, or a number it will not text), or ours
or the provider's (everything else: keys, sign name, template, balance, the service).

The SDK's own types stay in this module.
"""

import logging

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

from rental.adapters.cloud_sms import CloudSmsSettings, split_endpoint
from rental.services.ports import SmsError, SmsNumberLimited, SmsNumberRefused

log = logging.getLogger(__name__)

SENT = "Ok"
# Tencent's limits of texts to one number (console: "frequency limits"), with how long each
# lasts. DeliveryFrequencyLimit is the same kind of limit, its period set in the console.
LIMIT_WAITS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30,
    "LimitExceeded.DeliveryFrequencyLimit": 60,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600,
    "LimitExceeded.PhoneNumberDailyLimit": 24 * 3600,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": 24 * 3600,
}
REFUSED_NUMBER_CODES = {
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberParseFail",
    "FailedOperation.PhoneNumberInBlacklist",  # the number's owner unsubscribed
    "UnsupportedOperation.UnsupportedRegion",
}
# Seconds; a rider is waiting for the answer.
TIMEOUT_SECONDS = 5


class TencentSms:
    name = "tencent"

    def __init__(self, settings: CloudSmsSettings) -> None:
        self._settings = settings
        scheme, host = split_endpoint(settings.endpoint)
        http = HttpProfile(protocol=scheme, endpoint=host or None, reqTimeout=TIMEOUT_SECONDS)
        self._client = SmsClient(
            Credential(settings.key_id, settings.key_secret),
            settings.region or "ap-guangzhou",
            ClientProfile(httpProfile=http),
        )

    def send_code(self, phone: str, code: str) -> None:
        request = SendSmsRequest()
        request.PhoneNumberSet = [phone]  # E.164, as the API asks
        request.SmsSdkAppId = self._settings.app_id
        request.SignName = self._settings.sign_name
        request.TemplateId = self._settings.template_id
        request.TemplateParamSet = [code]
        try:
            answer = self._client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise refusal(str(exc.code), str(exc.message)) from exc
        except Exception as exc:  # the transport's own errors, past the SDK's
            raise SmsError(f"Tencent Cloud SMS could not be asked: {exc}") from exc
        statuses = answer.SendStatusSet or []
        if not statuses:
            raise SmsError("Tencent Cloud SMS answered no status for the number")
        if statuses[0].Code != SENT:
            raise refusal(str(statuses[0].Code), str(statuses[0].Message))


def refusal(code: str, message: str) -> SmsError:
    """The error for a failed call or a number's status other than Ok."""
    said = f"Tencent Cloud SMS answered {code}: {message}"
    if code in LIMIT_WAITS:
        return SmsNumberLimited(said, LIMIT_WAITS[code])
    if code in REFUSED_NUMBER_CODES:
        return SmsNumberRefused(said)
    log.error("SMS not sent: %s", said)  # ours to fix: keys, app, sign name, template, balance
    return SmsError(said)
