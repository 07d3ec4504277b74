"""Alibaba Cloud SMS and Tencent Cloud SMS through their own SDKs, against local fakes of
their HTTP APIs on 127.0.0.1 (tests/cloud_sms_fakes.py) that check what the SDK really
sends: the action, the parameters, and the signature with the test's key; and each
provider's documented failures sorted by whose fault they are."""

import json
from collections.abc import Iterator

import pytest

from rental.adapters.aliyun_sms import AliyunSms
from rental.adapters.cloud_sms import CloudSmsSettings
from rental.adapters.tencent_sms import TencentSms
from rental.services.ports import SmsError, SmsNumberLimited, SmsNumberRefused
from tests.cloud_sms_fakes import (
    FakeAliyun,
    FakeTencent,
    aliyun_error,
    serving,
    tencent_error,
    tencent_statuses,
)

KEY_ID, KEY_SECRET = "LTAI5tTestKeyId", "test-access-key-secret"
MOBILE = "+8613912345678"
# Nothing listens on port 9 (discard) of loopback here: the provider cannot be reached.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with serving(FakeAliyun(KEY_ID, KEY_SECRET)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def tencent() -> Iterator[FakeTencent]:
    with serving(FakeTencent(KEY_ID, KEY_SECRET)) as fake:
        yield fake  # type: ignore[misc]


def settings(endpoint: str, secret: str = KEY_SECRET) -> CloudSmsSettings:
    return CloudSmsSettings(
        KEY_ID, secret, "EasyRide", "SMS_465400001", app_id="1400000001", endpoint=endpoint
    )


def test_alibaba_gets_the_code_in_its_template_signed_with_the_account_key(aliyun):
    AliyunSms(settings(aliyun.url)).send_code(MOBILE, "042917")
    [seen] = aliyun.seen
    assert (seen.action, seen.version, seen.signature_ok) == ("SendSms", "2017-05-25", True)
    assert seen.params["PhoneNumbers"] == "13912345678"  # a mainland number without +86
    assert (seen.params["SignName"], seen.params["TemplateCode"]) == ("EasyRide", "SMS_465400001")
    assert json.loads(seen.params["TemplateParam"]) == {"code": "042917"}


def test_alibaba_gets_a_number_abroad_with_its_country_code(aliyun):
    AliyunSms(settings(aliyun.url)).send_code("+85291234567", "042917")
    assert aliyun.seen[0].params["PhoneNumbers"] == "85291234567"


def test_a_call_alibaba_cannot_verify_is_the_providers_refusal_not_the_numbers(aliyun):
    with pytest.raises(SmsError) as refused:
        AliyunSms(settings(aliyun.url, secret="another secret")).send_code(MOBILE, "042917")
    assert type(refused.value) is SmsError
    assert "SignatureDoesNotMatch" in str(refused.value)
    assert aliyun.seen[0].signature_ok is False


@pytest.mark.parametrize(
    ("code", "message", "kind", "wait"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", SmsNumberLimited, 60),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", SmsNumberLimited, 3600),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", SmsNumberLimited, 86400),
        ("isv.DAY_LIMIT_CONTROL", "触发日发送限额", SmsNumberLimited, 86400),
        ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", SmsNumberRefused, None),
        ("isv.AMOUNT_NOT_ENOUGH", "账户余额不足", SmsError, None),
        ("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", SmsError, None),
        ("isp.SYSTEM_ERROR", "系统错误", SmsError, None),
    ],
)
def test_alibabas_documented_failures_are_sorted_by_whose_fault(aliyun, code, message, kind, wait):
    aliyun.answer_next(200, aliyun_error(code, message))
    with pytest.raises(SmsError) as refused:
        AliyunSms(settings(aliyun.url)).send_code(MOBILE, "042917")
    assert type(refused.value) is kind
    assert getattr(refused.value, "retry_after_seconds", None) == wait


def test_tencent_gets_the_code_as_its_templates_parameter_signed_with_the_account_key(tencent):
    TencentSms(settings(tencent.url)).send_code(MOBILE, "042917")
    [seen] = tencent.seen
    assert (seen.action, seen.version, seen.signature_ok) == ("SendSms", "2021-01-11", True)
    assert seen.headers["x-tc-region"] == "ap-guangzhou"
    assert seen.params == {
        "PhoneNumberSet": [MOBILE],
        "SmsSdkAppId": "1400000001",
        "SignName": "EasyRide",
        "TemplateId": "SMS_465400001",
        "TemplateParamSet": ["042917"],
    }


def test_a_call_tencent_cannot_verify_is_the_providers_refusal_not_the_numbers(tencent):
    with pytest.raises(SmsError) as refused:
        TencentSms(settings(tencent.url, secret="another secret")).send_code(MOBILE, "042917")
    assert type(refused.value) is SmsError
    assert "AuthFailure.SignatureFailure" in str(refused.value)
    assert tencent.seen[0].signature_ok is False


@pytest.mark.parametrize(
    ("code", "kind", "wait"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", SmsNumberLimited, 30),
        ("LimitExceeded.PhoneNumberOneHourLimit", SmsNumberLimited, 3600),
        ("LimitExceeded.PhoneNumberDailyLimit", SmsNumberLimited, 86400),
        ("InvalidParameterValue.IncorrectPhoneNumber", SmsNumberRefused, None),
        ("FailedOperation.PhoneNumberInBlacklist", SmsNumberRefused, None),
        ("FailedOperation.InsufficientBalanceInSmsPackage", SmsError, None),
        ("FailedOperation.TemplateIncorrectOrUnapproved", SmsError, None),
    ],
)
@pytest.mark.parametrize("where", ["number's status", "call's error"])
def test_tencents_documented_failures_are_sorted_by_whose_fault(tencent, where, code, kind, wait):
    # The same codes come as a number's status in SendStatusSet or as the whole call's error.
    if where == "number's status":
        tencent.answer_next(200, tencent_statuses([MOBILE], code, "refused (fake)"))
    else:
        tencent.answer_next(200, tencent_error(code, "refused (fake)"))
    with pytest.raises(SmsError) as refused:
        TencentSms(settings(tencent.url)).send_code(MOBILE, "042917")
    assert type(refused.value) is kind
    assert getattr(refused.value, "retry_after_seconds", None) == wait


@pytest.mark.parametrize("adapter", [AliyunSms, TencentSms])
def test_a_provider_that_cannot_be_reached_is_an_sms_error(adapter):
    with pytest.raises(SmsError):
        adapter(settings(UNREACHABLE)).send_code(MOBILE, "042917")
