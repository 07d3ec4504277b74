"""Signing in with a code sent by SMS, through HTTP and the real database: the code read
from the sandbox provider's page, as a tester of the demo reads it; tries, reuse and the
rate limits per phone and per address."""

import re
import uuid

import requests
from sqlalchemy import text

from rental.domain.riders import Role
from rental.services import accounts
from rental.services.commands.riders import RegisterUser
from tests.e2e.test_rate_limits import assert_rate_limited, limited  # noqa: F401 (fixture)
from tests.helpers import RIDER_PASSWORD

CODE_ON_PAGE = re.compile(r"Your sign-in code is (\d{6})")


def fresh_mobile() -> tuple[str, str]:
    """A CN mobile number nobody has used, as typed and in E.164."""
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return f"139 {digits[:4]} {digits[4:]}", f"+86139{digits}"


def code_from_page(base_url: str, e164: str) -> str:
    page = requests.get(f"{base_url}/sandbox/sms", timeout=5)
    assert page.ok and page.headers["Content-Type"].startswith("text/html")
    # Newest first: the first row for this number is its latest text.
    for row in re.findall(r"<tr>(.*?)</tr>", page.text):
        if f"<td class=phone>{e164}</td>" in row:
            found = CODE_ON_PAGE.search(row)
            assert found, row
            return found.group(1)
    raise AssertionError(f"no text to {e164} on the page")


def ask_code(base_url: str, phone: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{base_url}/api/v1/auth/sms-codes", json={"phone": phone}, headers=headers, timeout=5
    )


def sign_in(base_url: str, phone: str, code: str, **headers: str) -> requests.Response:
    body = {"phone": phone, "code": code}
    return requests.post(f"{base_url}/api/v1/auth/sms-token", json=body, headers=headers, timeout=5)


def test_a_new_rider_signs_in_with_the_code_from_the_sandbox_page(system):
    typed, e164 = fresh_mobile()
    sent = ask_code(system.url, typed)
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"phone": e164, "expires_in": 300}
    code = code_from_page(system.url, e164)

    wrong = sign_in(system.url, e164, f"{(int(code) + 1) % 10**6:06d}")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "bad_code")
    tokens = sign_in(system.url, typed.replace(" ", "-"), code)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["role"] == "rider"
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = requests.get(f"{system.url}/api/v1/me", headers=bearer, timeout=5).json()
    assert me["phone"] == e164
    spent = sign_in(system.url, e164, code)
    assert (spent.status_code, spent.json()["error"]["code"]) == (401, "bad_code")
    # No password was set: none signs in.
    password = requests.post(
        f"{system.url}/api/v1/auth/token", json={"phone": e164, "password": code}, timeout=5
    )
    assert password.status_code == 401


def test_a_number_whose_account_has_a_password_signs_in_with_it_not_by_code(system):
    # Password sign-up never proved the number was its maker's: a code must not open that
    # account to the number's owner (they would share it), nor make a second one.
    typed, e164 = fresh_mobile()
    national = typed.replace(" ", "")  # kept so, before numbers were normalised
    command = RegisterUser(national, RIDER_PASSWORD, "Older Rider", Role.RIDER)
    accounts.register(system.platform.uow(), system.platform.passwords, command)
    assert ask_code(system.url, national).json()["phone"] == e164
    refused = sign_in(system.url, e164, code_from_page(system.url, e164))
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "password_required"
    with system.platform.engine.connect() as connection:
        made = connection.execute(
            text("SELECT count(*) FROM users WHERE phone IN (:a, :b)"), {"a": national, "b": e164}
        ).scalar_one()
    assert made == 1
    by_password = requests.post(
        f"{system.url}/api/v1/auth/token",
        json={"phone": national, "password": RIDER_PASSWORD},
        timeout=5,
    )
    assert by_password.status_code == 200, by_password.text


def test_the_code_is_spent_after_five_wrong_tries(system):
    typed, e164 = fresh_mobile()
    ask_code(system.url, typed)
    code = code_from_page(system.url, e164)
    for _ in range(5):
        assert (
            sign_in(system.url, e164, "000000" if code != "000000" else "111111").status_code == 401
        )
    late = sign_in(system.url, e164, code)
    assert (late.status_code, late.json()["error"]["code"]) == (401, "bad_code")


def test_bad_numbers_and_codes_are_4xx_never_500(system):
    bad = ask_code(system.url, "12345")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_phone")
    for body in ({"phone": "+8613900000000"}, {"phone": 139, "code": "1"}, {"code": "x" * 100}):
        answer = requests.post(f"{system.url}/api/v1/auth/sms-token", json=body, timeout=5)
        assert 400 <= answer.status_code < 500, (body, answer.text)


def test_codes_are_limited_per_phone_however_typed_and_per_address(system, limited):  # noqa: F811
    api = limited(
        RATE_LIMIT_SMS_CODES_PER_PHONE="2/minute",
        RATE_LIMIT_SMS_CODES_PER_ADDRESS="4/minute",
        TRUSTED_PROXY_COUNT=1,
    )
    typed, e164 = fresh_mobile()
    for number, form in enumerate([typed, e164]):
        sent = ask_code(api.url, form, **{"X-Forwarded-For": f"198.51.100.{number}"})
        assert sent.status_code == 202, sent.text
    assert_rate_limited(ask_code(api.url, typed, **{"X-Forwarded-For": "198.51.100.9"}))

    for _ in range(3):  # 198.51.100.0 asked once above: four in all
        other, _ = fresh_mobile()
        assert ask_code(api.url, other, **{"X-Forwarded-For": "198.51.100.0"}).status_code == 202
    other, _ = fresh_mobile()
    assert_rate_limited(ask_code(api.url, other, **{"X-Forwarded-For": "198.51.100.0"}))
    assert ask_code(api.url, other, **{"X-Forwarded-For": "198.51.100.50"}).status_code == 202
