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
from rental.domain.errors import (
    Forbidden,
    InvalidInput,
    LimitReached,
    NotAuthenticated,
    Unavailable,
)
from rental.domain.phone_codes import code_hash
from rental.domain.phones import e164, legacy_forms
from rental.domain.riders import Role, User
from rental.domain.sessions import TokenLifetimes
from rental.services import phone_sign_in, sessions
from rental.services.commands.riders import (
    ChangePassword,
    SendSignInCode,
    SignInWithCode,
    SignUpWithCode,
)
from rental.services.phone_sign_in import NO_PASSWORD, CodeRules
from rental.services.ports import SmsNumberLimited, SmsNumberRefused
from tests.unit.fakes.ports import FakePasswords, FakeSms
from tests.unit.fakes.world import World

RULES = CodeRules(b"platform-secret", "CN")
LIFETIMES = TokenLifetimes(900, 86_400, 600, 3_600)
MOBILE = "+8613912345678"
PASSWORDS = FakePasswords()
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


def sign_in(world, code, phone="+86 139-1234-5678", at=None, password=None):
    command = SignInWithCode(phone, code, password)
    now = at or world.now
    return phone_sign_in.sign_in_with_code(world.uow(), PASSWORDS, RULES, LIFETIMES, command, now)


def sign_up(world, code, name="New Rider", password=None, passwords=None):
    command = SignUpWithCode("139 1234 5678", code, name, password)
    return phone_sign_in.sign_up_with_code(
        world.uow(), passwords or PASSWORDS, RULES, LIFETIMES, command, world.now
    )


def password_account(world, proven: bool, password: str = "the rider's own") -> User:
    user = User(
        uuid.uuid4(), MOBILE, "Has a password", Role.RIDER, PASSWORDS.hash(password), proven
    )
    with world.uow() as unit:
        unit.users.add(user)
        unit.commit()
    return user


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


def test_a_password_account_whose_number_was_proven_signs_in_by_code(world, sms):
    user = password_account(world, proven=True)
    assert sign_in(world, send(world, sms)).session.user_id == user.id


def test_an_unproven_password_account_proves_its_number_with_the_code_and_its_password(world, sms):
    user = password_account(world, proven=False)
    code = send(world, sms)
    for password in (None, "someone's guess"):
        with pytest.raises(NotAuthenticated) as refused:
            sign_in(world, code, password=password)
        assert refused.value.code == "password_required"
    assert world.store.users[user.id].user.phone_proven is False
    assert world.store.phone_codes[MOBILE].tries_left == 3  # each try spent all the same

    # The right code stays good for the password: no second text to wait for.
    assert sign_in(world, code, password="the rider's own").session.user_id == user.id
    assert world.store.users[user.id].user.phone_proven is True
    assert sign_in(world, send(world, sms)).session.user_id == user.id  # the code alone now


def test_sign_up_proves_the_number_and_keeps_the_name_and_the_optional_password(world, sms):
    issued = sign_up(world, send(world, sms), name="Li Lei", password="a long password")
    user = world.store.users[issued.session.user_id].user
    assert (user.phone, user.name, user.phone_proven) == (MOBILE, "Li Lei", True)
    assert PASSWORDS.matches(user.password_hash, "a long password")
    assert sign_in(world, send(world, sms)).session.user_id == user.id  # codes sign in too


def test_sign_up_without_a_password_makes_an_account_codes_sign_into(world, sms):
    issued = sign_up(world, send(world, sms), password=None)
    assert world.store.users[issued.session.user_id].user.password_hash == NO_PASSWORD


def test_sign_up_of_a_number_with_an_account_signs_into_it_unchanged(world, sms):
    first = sign_up(world, send(world, sms), name="Owner", password="the first password")
    again = sign_up(world, send(world, sms), name="Someone", password="another password")
    assert again.session.user_id == first.session.user_id
    user = world.store.users[first.session.user_id].user
    assert user.name == "Owner" and PASSWORDS.matches(user.password_hash, "the first password")
    assert len(world.store.users) == 1


def test_sign_up_with_a_wrong_code_makes_nothing_and_hashes_the_password_all_the_same(world, sms):
    passwords = FakePasswords()
    with pytest.raises(NotAuthenticated) as refused:
        sign_up(world, wrong(send(world, sms)), password="a long password", passwords=passwords)
    assert refused.value.code == "bad_code"
    assert world.store.users == {} and world.store.sessions == {}
    assert passwords.hashed == 1  # as long as a sign-up that works


def test_a_rider_made_by_a_code_sets_a_first_password_without_a_current_one(world, sms):
    issued = sign_in(world, send(world, sms))
    rider, session = issued.session.user_id, issued.session.id
    sessions.change_password(
        world.uow(), PASSWORDS, ChangePassword(rider, session, None, "my first one"), world.now
    )
    assert PASSWORDS.matches(world.store.users[rider].user.password_hash, "my first one")
    with pytest.raises(Forbidden) as refused:  # from now on the current one is asked for
        sessions.change_password(
            world.uow(), PASSWORDS, ChangePassword(rider, session, None, "a second"), world.now
        )
    assert refused.value.code == "wrong_password"
