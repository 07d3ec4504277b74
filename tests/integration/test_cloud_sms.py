"""Sign-in codes texted through Alibaba Cloud SMS or Tencent Cloud SMS, as the settings
configure them, through the API and the real database; the providers answered by local
fakes on 127.0.0.1 (tests/cloud_sms_fakes.py). Each kind of failure has its own answer."""

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from rental.app import create_app
from rental.bootstrap import Platform
from tests.cloud_sms_fakes import FakeAliyun, FakeTencent, aliyun_error, serving
from tests.helpers import rate_limit_settings
from tests.unit.test_cloud_sms import KEY_ID, KEY_SECRET, MOBILE


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with serving(FakeAliyun(KEY_ID, KEY_SECRET)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def tencent() -> Iterator[FakeTencent]:
    with serving(FakeTencent(KEY_ID, KEY_SECRET)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def api_with(platform):
    """api_with(fake, "aliyun") -> a test client of a platform texting through the fake."""
    made: list[Platform] = []

    def start(fake, provider: str):
        config = replace(
            platform.config,
            SMS_PROVIDER=provider,
            SMS_KEY_ID=KEY_ID,
            SMS_KEY_SECRET=KEY_SECRET,
            SMS_SIGN_NAME="EasyRide",
            SMS_TEMPLATE_ID="SMS_465400001",
            SMS_APP_ID="1400000001",
            SMS_ENDPOINT=fake.url,
        )
        made.append(Platform(config, lock_commands=platform.lock_commands))
        return create_app(test_config=rate_limit_settings(), platform=made[-1]).test_client()

    yield start
    for each in made:
        each.dispose()


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_the_api_texts_a_code_through_the_configured_provider_and_it_signs_in(
    api_with, aliyun, tencent, provider
):
    fake = aliyun if provider == "aliyun" else tencent
    client = api_with(fake, provider)
    sent = client.post("/api/v1/auth/sms-codes", json={"phone": "139 1234 5678"})
    assert sent.status_code == 202, sent.get_json()
    [seen] = fake.seen
    code = (
        json.loads(seen.params["TemplateParam"])["code"]
        if provider == "aliyun"
        else seen.params["TemplateParamSet"][0]
    )
    tokens = client.post("/api/v1/auth/sms-token", json={"phone": MOBILE, "code": code})
    assert tokens.status_code == 200, tokens.get_json()


def test_the_api_answers_each_kind_of_provider_failure_with_its_own_status(api_with, aliyun):
    client = api_with(aliyun, "aliyun")
    answers = [
        (aliyun_error("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"), 429),
        (aliyun_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), 400),
        (aliyun_error("isv.AMOUNT_NOT_ENOUGH", "账户余额不足"), 503),
    ]
    for body, _ in answers:
        aliyun.answer_next(200, body)
    got = [client.post("/api/v1/auth/sms-codes", json={"phone": MOBILE}) for _ in answers]
    assert [(a.status_code, a.get_json()["error"]["code"]) for a in got] == [
        (429, "sms_limit_reached"),
        (400, "invalid_phone"),
        (503, "sms_unavailable"),
    ]
    assert int(got[0].headers["Retry-After"]) == 3600
