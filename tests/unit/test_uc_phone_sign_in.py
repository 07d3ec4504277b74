"""Signing in with a code sent by SMS: numbers normalised to E.164, 6-digit codes kept
hashed, good for 5 minutes and 5 tries, accounts made for new numbers, in memory."""

import uuid
from datetime import timedelta

import pytest

from rental.adapters.aliyun_sms import AliyunSms
from rental.adapters.sandbox_sms import NoSms
from rental.adapters.tencent_sms import TencentSms
from rental.bootstrap import _sms_provider
from rental.config import Config
from rental.domain.errors import InvalidInput, LimitReached, NotAuthenticated, Unavailable
from rental.domain.phone_codes import code_hash
from rental.domain.phones import e164, legacy_forms
from rental.domain.riders import Role, User
from rental.domain.sessions import TokenLifetimes
from rental.services import phone_sign_in
from rental.services.commands.riders import SendSignInCode, SignInWithCode
from rental.services.phone_sign_in import NO_PASSWORD, CodeRules
from rental.services.ports import SmsNumberLimited, SmsNumberRefused
from tests.unit.fakes.ports import FakeSms
from tests.unit.fakes.world import World

RULES = CodeRules(b"platform-secret", "CN")
LIFETIMES = TokenLifetimes(900, 86_400, 600, 3_600)
MOBILE = "+8613912345678"
CLOUD_KEYS = ("SMS_KEY_ID", "SMS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE_ID")


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def sms() -> FakeSms:
    return FakeSms()


def send(world, sms, phone="139 1234 5678", at=None) -> str:
    command = SendSignInCode(phone)
    phone_sign_in.send_sign_in_code(world.uow(), sms, RULES, command, at or world.now)
    return sms.sent[-1][1]


def sign_in(world, code, phone="+86 139-1234-5678", at=None):
    command = SignInWithCode(phone, code)
    return phone_sign_in.sign_in_with_code(world.uow(), RULES, LIFETIMES, command, at or world.now)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.parametrize(
    "typed", ["13912345678", "139 1234 5678", "+86 139-1234-5678", "008613912345678"]
)
def test_a_number_however_typed_is_one_e164_number(typed):
    assert e164(typed, "CN") == MOBILE


@pytest.mark.parametrize("typed", ["12345", "+86 139", "not a phone", "+1 555 0100 000 0000"])
def test_what_is_no_mobile_number_is_refused(typed):
    with pytest.raises(InvalidInput) as refused:
        e164(typed, "CN")
    assert refused.value.code == "invalid_phone"


def test_a_code_of_six_digits_goes_to_the_number_and_only_its_hash_is_kept(world, sms):
    code = send(world, sms)
    assert sms.sent == [(MOBILE, code)] and len(code) == 6 and code.isdigit()
    stored = world.store.phone_codes[MOBILE]
    assert stored.code_hash == code_hash(RULES.key, MOBILE, code)
    assert code.encode() not in stored.code_hash
    assert stored.expires_at == world.now + timedelta(minutes=5)


def test_a_new_number_signs_in_as_a_new_rider_without_a_password(world, sms):
    issued = sign_in(world, send(world, sms))
    user = world.store.users[issued.session.user_id].user
    assert (user.phone, user.role) == (MOBILE, Role.RIDER)
    assert issued.session.role is Role.RIDER
    again = sign_in(world, send(world, sms))
    assert again.session.user_id == user.id  # the same account, not a second one


def test_an_older_account_kept_with_national_digits_is_found(world, sms):
    with world.uow() as unit:  # an account made before numbers were normalised
        unit.users.add(User(uuid.uuid4(), "13912345678", "Old", Role.RIDER, NO_PASSWORD))
        unit.commit()
    assert legacy_forms(MOBILE, "CN") == [MOBILE, "13912345678"]
    issued = sign_in(world, send(world, sms))
    assert world.store.users[issued.session.user_id].user.name == "Old"


def test_an_account_with_a_password_is_not_entered_by_code(world, sms):
    # Password sign-up never proved the number: whoever made this account may not be the
    # number's owner, who must not end up sharing it.
    with world.uow() as unit:
        unit.users.add(User(uuid.uuid4(), "13912345678", "Made by someone", Role.RIDER, "-"))
        unit.commit()
    with pytest.raises(NotAuthenticated) as refused:
        sign_in(world, send(world, sms))
    assert refused.value.code == "password_required"
    assert [u.user.name for u in world.store.users.values()] == ["Made by someone"]
    assert world.store.sessions == {}


def test_a_code_signs_in_once(world, sms):
    code = send(world, sms)
    sign_in(world, code)
    with pytest.raises(NotAuthenticated) as spent:
        sign_in(world, code)
    assert spent.value.code == "bad_code"


def test_a_code_is_good_for_five_minutes(world, sms):
    code = send(world, sms)
    with pytest.raises(NotAuthenticated):
        sign_in(world, code, at=world.now + timedelta(minutes=5))
    sign_in(world, send(world, sms), at=world.now + timedelta(minutes=4, seconds=59))


def test_five_wrong_tries_spend_the_code(world, sms):
    code = send(world, sms)
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            sign_in(world, wrong(code))
    with pytest.raises(NotAuthenticated) as spent:
        sign_in(world, code)  # the right one, too late
    assert spent.value.code == "bad_code"
    assert world.store.phone_codes[MOBILE].tries_left == 0
    sign_in(world, send(world, sms))  # a new code starts again


def test_four_wrong_tries_leave_the_fifth(world, sms):
    code = send(world, sms)
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            sign_in(world, wrong(code))
    assert sign_in(world, code).session.role is Role.RIDER


def test_asking_again_replaces_the_code(world, sms):
    first = send(world, sms)
    second = send(world, sms)
    if first != second:
        with pytest.raises(NotAuthenticated):
            sign_in(world, first)
    sign_in(world, second)


def test_a_number_never_sent_a_code_is_answered_like_a_wrong_code(world):
    with pytest.raises(NotAuthenticated) as refused:
        sign_in(world, "123456")
    assert refused.value.code == "bad_code"
    assert world.store.users == {}


def test_an_operator_signs_in_with_the_password(world, sms):
    with world.uow() as unit:
        unit.users.add(User(uuid.uuid4(), MOBILE, "Op", Role.OPERATOR, "-"))
        unit.commit()
    with pytest.raises(NotAuthenticated) as refused:
        sign_in(world, send(world, sms))
    assert refused.value.code == "password_required"


def test_a_provider_that_does_not_answer_is_a_503(world):
    with pytest.raises(Unavailable) as down:
        send(world, FakeSms(fail=True))
    assert down.value.code == "sms_unavailable"


def test_the_providers_limit_of_texts_to_a_number_is_a_429_with_its_wait(world):
    limited = FakeSms(refuse_with=SmsNumberLimited("daily limit (fake)", 3600))
    with pytest.raises(LimitReached) as refused:
        send(world, limited)
    assert refused.value.code == "sms_limit_reached"
    assert refused.value.retry_at == world.now + timedelta(hours=1)
    assert refused.value.retry_after_seconds == 3600


def test_a_number_the_provider_will_not_text_is_an_invalid_phone(world):
    with pytest.raises(InvalidInput) as refused:
        send(world, FakeSms(refuse_with=SmsNumberRefused("opted out (fake)")))
    assert (refused.value.code, refused.value.field) == ("invalid_phone", "phone")


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"SMS_PROVIDER": "aliyun"}, "SMS_KEY_ID, SMS_KEY_SECRET, SMS_SIGN_NAME, SMS_TEMPLATE_ID"),
        (
            {"SMS_PROVIDER": "tencent", **dict.fromkeys(CLOUD_KEYS, "x")},
            "SMS_APP_ID",
        ),
    ],
)
def test_a_cloud_provider_without_its_settings_does_not_start(settings, missing):
    with pytest.raises(RuntimeError, match=missing):
        _sms_provider(Config(**settings), engine=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "kind"), [("aliyun", AliyunSms), ("tencent", TencentSms)])
def test_a_cloud_provider_is_chosen_by_its_name(name, kind):
    settings = {"SMS_PROVIDER": name, "SMS_APP_ID": "1400000000", **dict.fromkeys(CLOUD_KEYS, "x")}
    assert isinstance(_sms_provider(Config(**settings), engine=None), kind)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not known"):
        _sms_provider(Config(SMS_PROVIDER="carrier-pigeon"), engine=None)  # type: ignore[arg-type]


def test_without_a_provider_configured_no_code_is_sent(world):
    assert isinstance(_sms_provider(Config(), engine=None), NoSms)  # type: ignore[arg-type]
    with pytest.raises(Unavailable) as down:
        send(world, NoSms())
    assert down.value.code == "sms_unavailable"
