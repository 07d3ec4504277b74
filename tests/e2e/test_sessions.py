"""Signing up, in and out over HTTP on the real database: short-lived access tokens,
refresh tokens that rotate and end their session when one comes back, a sign-out and a
password change that stop access tokens at once, and a sign-up that does not tell who
has an account."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rental.app import create_app
from rental.bootstrap import Platform
from rental.domain.riders import Role
from rental.services import accounts
from rental.services.commands.riders import RegisterUser
from tests.e2e.test_sms_sign_in import fresh_mobile
from tests.helpers import RIDER_PASSWORD, make_user

NEW_PASSWORD = "a brand new password"


def sign_in(system, phone: str, password: str = RIDER_PASSWORD) -> dict:
    answer = system.post("/api/v1/auth/token", {"phone": phone, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def me(system, tokens: dict):  # the response
    return system.http.get(system.url + "/api/v1/me", headers=bearer(tokens))


def refresh(system, tokens: dict):
    return system.post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})


def code_of(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_a_sign_in_answers_a_short_lived_access_token_and_a_refresh_token(system):
    rider = make_user(system.platform, Role.RIDER)
    tokens = sign_in(system, rider.phone)
    assert tokens["token_type"] == "bearer"
    assert (tokens["role"], tokens["expires_in"]) == ("rider", 15 * 60)
    assert len(tokens["refresh_token"]) >= 43
    assert me(system, tokens).json()["id"] == str(rider.id)
    operator = sign_in(system, make_user(system.platform, Role.OPERATOR).phone)
    assert (operator["role"], operator["expires_in"]) == ("operator", 5 * 60)


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session_at_once(system):
    rider = make_user(system.platform, Role.RIDER)
    first = sign_in(system, rider.phone)
    renewed = refresh(system, first)
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert me(system, second).status_code == 200
    # The first refresh token again: someone else holds a copy. The session ends, and
    # with it every access token it gave, at once.
    assert code_of(refresh(system, first)) == (401, "refresh_token_reused")
    assert code_of(me(system, second)) == (401, "session_ended")
    assert code_of(me(system, first)) == (401, "session_ended")
    assert code_of(refresh(system, second)) == (401, "session_ended")
    assert me(system, sign_in(system, rider.phone)).status_code == 200  # a new sign-in works


def test_a_refresh_token_that_was_never_issued_is_refused(system):
    for body in ({"refresh_token": "x" * 43}, {"refresh_token": "x" * 5000}, {"refresh_token": ""}):
        assert code_of(system.post("/api/v1/auth/refresh", body)) == (401, "invalid_refresh_token")
    assert system.post("/api/v1/auth/refresh", {"refresh_token": 7}).status_code == 400


def test_signing_out_ends_the_session_and_twice_is_fine(system):
    rider = make_user(system.platform, Role.RIDER)
    tokens, other_device = sign_in(system, rider.phone), sign_in(system, rider.phone)
    logout = system.http.post(system.url + "/api/v1/auth/logout", headers=bearer(tokens))
    assert logout.status_code == 204
    assert code_of(me(system, tokens)) == (401, "session_ended")
    assert code_of(refresh(system, tokens)) == (401, "session_ended")
    again = system.http.post(system.url + "/api/v1/auth/logout", headers=bearer(tokens))
    assert again.status_code == 204
    assert me(system, other_device).status_code == 200  # one device signed out, not all
    assert code_of(system.http.post(system.url + "/api/v1/auth/logout")) == (401, "missing_token")


@pytest.mark.parametrize("role", [Role.RIDER, Role.OPERATOR])
def test_a_password_change_signs_every_other_device_out(system, role):
    user = make_user(system.platform, role)
    here, elsewhere = sign_in(system, user.phone), sign_in(system, user.phone)
    change = {"current_password": RIDER_PASSWORD, "new_password": NEW_PASSWORD}
    answer = system.http.post(system.url + "/api/v1/me/password", json=change, headers=bearer(here))
    assert answer.status_code == 204, answer.text
    assert code_of(refresh(system, elsewhere)) == (401, "session_ended")
    assert refresh(system, here).status_code == 200
    wrong = system.post("/api/v1/auth/token", {"phone": user.phone, "password": RIDER_PASSWORD})
    assert code_of(wrong) == (401, "bad_credentials")
    sign_in(system, user.phone, NEW_PASSWORD)


def test_a_password_change_needs_the_current_password_and_a_long_enough_new_one(system):
    user = make_user(system.platform, Role.RIDER)
    tokens = sign_in(system, user.phone)

    def change(current: object, new: object):
        body = {"current_password": current, "new_password": new}
        return system.http.post(
            system.url + "/api/v1/me/password", json=body, headers=bearer(tokens)
        )

    assert code_of(change("a wrong guess", NEW_PASSWORD)) == (403, "wrong_password")
    assert code_of(change(RIDER_PASSWORD, "short")) == (400, "invalid_password")
    assert code_of(change(None, NEW_PASSWORD)) == (403, "wrong_password")
    assert me(system, tokens).status_code == 200  # still signed in after a wrong guess
    sign_in(system, user.phone)  # the password did not change


def test_signing_up_answers_alike_whether_or_not_the_phone_has_an_account(system):
    # Sign-up proves the number with a texted code: whoever cannot read the number's texts
    # gets the same answers for a taken number as for a free one.
    typed, _ = fresh_mobile()
    owner_phone = typed.replace(" ", "")
    command = RegisterUser(owner_phone, RIDER_PASSWORD, "Owner", Role.RIDER)
    accounts.register(system.platform.uow(), system.platform.passwords, command)
    for phone in (owner_phone, "13812345678"):
        body = {"phone": phone, "password": "another password", "name": "X"}
        assert code_of(system.post("/api/v1/riders", body)) == (400, "code_required")
        assert system.post("/api/v1/auth/sms-codes", {"phone": phone}).status_code == 202
        wrong = system.post("/api/v1/riders", {**body, "code": "not it"})
        assert code_of(wrong) == (401, "bad_code")
    # The owner's account is untouched, its password the same.
    sign_in(system, owner_phone)
    refused = system.post(
        "/api/v1/auth/token", {"phone": owner_phone, "password": "another password"}
    )
    assert code_of(refused) == (401, "bad_credentials")
    free = {"phone": "13812345678", "password": "another password"}
    assert code_of(system.post("/api/v1/auth/token", free)) == (401, "bad_credentials")


@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [
        ("13800000001\n", 401, "bad_credentials"),
        ("1\u0000", 400, "invalid_phone"),  # refused at the edge: no text holds a NUL
        ("1" * 10_000, 400, "invalid_phone"),  # longer than any number as typed
    ],
)
def test_a_sign_in_with_a_phone_that_cannot_be_a_number_is_refused_not_a_500(
    system, phone, status, code
):
    answer = system.post("/api/v1/auth/token", {"phone": phone, "password": "x"})
    assert code_of(answer) == (status, code)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(platform, clean_database) -> Iterator[Clock]:
    yield Clock()


@pytest.fixture
def timed(platform, clock) -> Iterator:
    """The API on the same database, with a clock the test moves."""
    timed_platform = Platform(replace(platform.config), clock=clock)
    yield create_app(platform=timed_platform).test_client()
    timed_platform.engine.dispose()
    timed_platform.search_engine.dispose()


def test_an_expired_access_token_is_refused_and_a_refresh_gives_a_new_one(platform, timed, clock):
    rider = make_user(platform, Role.RIDER)
    tokens = timed.post(
        "/api/v1/auth/token", json={"phone": rider.phone, "password": RIDER_PASSWORD}
    ).json
    clock.now += timedelta(minutes=15)
    expired = timed.get("/api/v1/me", headers=bearer(tokens))
    assert (expired.status_code, expired.json["error"]["code"]) == (401, "token_expired")
    renewed = timed.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert timed.get("/api/v1/me", headers=bearer(renewed.json)).status_code == 200
    # An expired access token still signs its session out.
    clock.now += timedelta(minutes=15)
    assert timed.post("/api/v1/auth/logout", headers=bearer(renewed.json)).status_code == 204
    ended = timed.post(
        "/api/v1/auth/refresh", json={"refresh_token": renewed.json["refresh_token"]}
    )
    assert ended.json["error"]["code"] == "session_ended"


def test_an_operator_signs_in_again_after_a_shift_of_not_refreshing(platform, timed, clock):
    operator = make_user(platform, Role.OPERATOR)
    body = {"phone": operator.phone, "password": RIDER_PASSWORD}
    tokens = timed.post("/api/v1/auth/token", json=body).json
    clock.now += timedelta(hours=12)
    late = timed.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert (late.status_code, late.json["error"]["code"]) == (401, "session_ended")
