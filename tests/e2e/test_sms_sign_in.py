"""Signing in with a code sent by SMS, through HTTP and the real database: the code read
from the sandbox provider's page, as a tester of the demo reads it; tries, reuse and the
rate limits per phone and per address."""

import re
import uuid
from typing import Any

import requests
from playwright.sync_api import expect
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


def code_in_browser(phone: Any, base_url: str, e164: str) -> str:
    """The latest code texted to `e164`, read from the sandbox's page in a new tab."""
    texts = phone.context.new_page()
    texts.goto(f"{base_url}/sandbox/sms")
    row = texts.locator("tr", has=texts.locator("td.phone", has_text=e164)).first
    found = CODE_ON_PAGE.search(row.locator("td.text").inner_text())
    texts.close()
    assert found, f"no code texted to {e164}"
    return found.group(1)


def ask_code_in_app(phone: Any, form: str, typed: str, e164: str) -> None:
    phone.page.fill(f"{form} input[name=phone]", typed)
    phone.page.click(f"{form} #send-code")
    expect(phone.page.locator(f"{form} #code-sent")).to_have_text(
        f"We texted a code to {e164}. It is good for 5 minutes."
    )


def old_account(system: Any, phone: str) -> None:
    """A rider's account made by the old password sign-up: its number never proven."""
    command = RegisterUser(phone, RIDER_PASSWORD, "Older Rider", Role.RIDER)
    accounts.register(system.platform.uow(), system.platform.passwords, command)


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


def bearer_of(tokens: requests.Response) -> dict[str, str]:
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def me_of(base_url: str, headers: dict[str, str]) -> dict:
    return requests.get(f"{base_url}/api/v1/me", headers=headers, timeout=5).json()


def sign_up(base_url: str, body: dict) -> requests.Response:
    return requests.post(f"{base_url}/api/v1/riders", json=body, timeout=5)


def by_password(base_url: str, phone: str, password: str) -> requests.Response:
    body = {"phone": phone, "password": password}
    return requests.post(f"{base_url}/api/v1/auth/token", json=body, timeout=5)


def test_sign_up_proves_the_number_then_its_password_or_a_code_signs_in(system):
    typed, e164 = fresh_mobile()
    ask_code(system.url, typed)
    body = {"phone": typed, "name": "Han Meimei", "password": "a long password"}
    tokens = sign_up(system.url, {**body, "code": code_from_page(system.url, e164)})
    me = me_of(system.url, bearer_of(tokens))
    assert (me["phone"], me["name"], me["has_password"]) == (e164, "Han Meimei", True)

    assert by_password(system.url, e164, "a long password").status_code == 200
    ask_code(system.url, e164)
    assert sign_in(system.url, e164, code_from_page(system.url, e164)).status_code == 200


def test_a_rider_made_by_a_code_sets_a_first_password_then_signs_in_with_it(system):
    typed, e164 = fresh_mobile()
    ask_code(system.url, typed)
    headers = bearer_of(sign_in(system.url, typed, code_from_page(system.url, e164)))
    assert me_of(system.url, headers)["has_password"] is False

    first = requests.post(
        f"{system.url}/api/v1/me/password",
        json={"new_password": "my first password"},
        headers=headers,
        timeout=5,
    )
    assert first.status_code == 204, first.text
    assert me_of(system.url, headers)["has_password"] is True
    assert by_password(system.url, e164, "my first password").status_code == 200
    again = requests.post(  # from now on, the current password is asked for
        f"{system.url}/api/v1/me/password",
        json={"new_password": "someone else's"},
        headers=headers,
        timeout=5,
    )
    assert (again.status_code, again.json()["error"]["code"]) == (403, "wrong_password")


def test_an_old_password_account_proves_its_number_once_then_codes_sign_it_in(system):
    typed, e164 = fresh_mobile()
    national = typed.replace(" ", "")
    command = RegisterUser(national, RIDER_PASSWORD, "Older Rider", Role.RIDER)
    accounts.register(system.platform.uow(), system.platform.passwords, command)
    ask_code(system.url, e164)
    body = {"phone": e164, "code": code_from_page(system.url, e164), "password": "not it"}
    guessed = requests.post(f"{system.url}/api/v1/auth/sms-token", json=body, timeout=5)
    assert (guessed.status_code, guessed.json()["error"]["code"]) == (401, "password_required")

    body["password"] = RIDER_PASSWORD  # the same code, still good for the password
    proven = requests.post(f"{system.url}/api/v1/auth/sms-token", json=body, timeout=5)
    assert me_of(system.url, bearer_of(proven))["name"] == "Older Rider"
    ask_code(system.url, e164)
    assert sign_in(system.url, e164, code_from_page(system.url, e164)).status_code == 200


# -- in the rider app, in Chromium on a phone's screen ----------------------------------


def test_a_rider_made_by_a_code_sets_a_first_password_in_the_app(system, phone):
    typed, e164 = fresh_mobile()
    page = phone.page
    page.goto(f"{system.url}/app/")
    ask_code_in_app(phone, "#sms-sign-in", typed, e164)
    page.fill("#sms-sign-in input[name=code]", code_in_browser(phone, system.url, e164))
    page.click("#sms-sign-in button[type=submit]")
    page.wait_for_selector("#tabs a.current[data-screen=map]")

    page.goto(f"{system.url}/app/#/me")
    form = page.locator("#password")
    expect(form.locator("h2")).to_have_text("Set a password")
    assert form.locator("input[name=current_password]").count() == 0
    form.locator("input[name=new_password]").fill("my first password")
    form.locator("button[type=submit]").click()

    expect(page.locator("#password-message")).to_have_text(
        "Password changed. Your other devices are signed out."
    )
    expect(page.locator("#password input[name=current_password]")).to_be_visible()
    assert by_password(system.url, e164, "my first password").status_code == 200
    assert phone.problems == []


def test_an_old_password_account_links_its_number_in_the_app_then_a_code_is_enough(system, phone):
    typed, e164 = fresh_mobile()
    old_account(system, typed.replace(" ", ""))
    page = phone.page
    page.goto(f"{system.url}/app/")
    ask_code_in_app(phone, "#sms-sign-in", typed, e164)
    page.fill("#sms-sign-in input[name=code]", code_in_browser(phone, system.url, e164))
    page.click("#sms-sign-in button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("This number's account has a password.")

    page.fill("#sms-sign-in input[name=password]", RIDER_PASSWORD)  # with the same code
    page.click("#sms-sign-in button[type=submit]")
    page.wait_for_selector("#tabs a.current[data-screen=map]")

    ask_code(system.url, e164)  # linked: the code alone signs in from now on
    assert sign_in(system.url, e164, code_from_page(system.url, e164)).status_code == 200
    assert phone.problems == []
