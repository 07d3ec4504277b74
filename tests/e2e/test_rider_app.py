"""The rider app in a real browser on a small phone screen: a whole ride as a rider makes
it, with the simulated lock confirming the unlock; errors in plain words; and signing in,
up and out, tokens renewed unseen, and a password change."""

import re
import time
import uuid

import pytest
from itsdangerous import URLSafeSerializer
from playwright.sync_api import expect

from rental.api.auth import ACCESS_TOKEN_SALT
from rental.domain.riders import Role
from tests.browser import Tab, camera_filming, launch
from tests.e2e.system import Rider
from tests.e2e.test_map import CITY_MAP
from tests.e2e.test_ride import ROUTE
from tests.e2e.test_sms_sign_in import ask_code_in_app, code_in_browser, fresh_mobile, old_account
from tests.helpers import CITY, RIDER_PASSWORD, make_user


def signed_in(phone, system, credit_minor=1000):
    rider = make_user(system.platform, Role.RIDER, credit_minor)
    phone.page.goto(f"{system.url}/app/#/signin")
    phone.page.fill("input[name=phone]", rider.phone)
    phone.page.fill("input[name=password]", RIDER_PASSWORD)
    phone.page.click("#credentials button[type=submit]")
    phone.page.wait_for_selector("#tabs a.current[data-screen=map]")
    return rider


def test_a_rider_finds_a_bike_unlocks_it_rides_and_gets_the_receipt(system, phone):
    code, lock = system.bike()
    signed_in(phone, system)
    page = phone.page

    page.click(f".vehicle-marker[title='{code}']")
    page.wait_for_selector(f"#vehicle h2:has-text('{code}')")
    phone.screenshot("app-1-map")
    page.click("#vehicle button.primary")
    page.wait_for_selector("#unlock")
    assert (
        "1.50" in page.inner_text("#price") and page.inner_text("#deposit") == "No deposit needed."
    )
    phone.screenshot("app-2-unlock")

    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))
    assert not lock.logic.locked  # the lock opened for real
    expect(page.locator("#trip-fare")).to_have_text("CN¥1.50")
    lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    expect(page.locator("#trip-distance")).to_have_text(re.compile(r"^1\d{3} m$"), timeout=10_000)
    phone.screenshot("app-3-trip")
    lock.close()

    page.wait_for_selector("#receipt-total", timeout=15_000)
    assert page.inner_text("#receipt-total") == "Total: CN¥1.50"
    # The app's own words for the line (the service says "1 x 30 min").
    riding = "Riding: 1 \u00d7 30 min"
    assert page.locator("#receipt td").all_inner_texts() == [riding, "CN¥1.50"]
    assert page.get_attribute("#receipt-qr", "src").startswith("data:image/svg+xml")
    assert page.inner_text("#parking") == "Parked well."
    phone.screenshot("app-4-receipt")

    page.click("#tabs a[data-screen=wallet]")
    page.wait_for_selector("#balance")
    assert page.inner_text("#balance") == "CN¥8.50"
    page.click("#tabs a[data-screen=trips]")
    expect(page.locator("#trips li")).to_have_count(1)
    assert phone.problems == []


def test_a_rider_reads_the_app_in_chinese(system, phone):
    signed_in(phone, system)
    page = phone.page

    page.click("#tabs a[data-screen=me]")
    page.select_option("#language", "zh-CN")

    page.wait_for_selector("h1:has-text('我的')")
    assert page.inner_text("#tabs a[data-screen=map] span") == "地图"
    assert page.inner_text("#score") == "600"
    code, _ = system.bike()
    page.goto(f"{system.url}/app/#/unlock/{code}")
    expect(page.locator("#price")).to_have_text("价格：每 30 分钟 ¥1.50")  # noqa: RUF001 (Chinese punctuation)
    phone.screenshot("app-5-me-zh")
    assert phone.problems == []


def test_a_lock_that_is_offline_is_explained_in_plain_words(system, phone):
    code, lock = system.bike()
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    signed_in(phone, system)
    page = phone.page

    page.goto(f"{system.url}/app/#/unlock/{code}")

    page.wait_for_selector("#unlock-status [role=alert]")
    assert page.inner_text("#unlock-status") == (
        "This lock is offline right now. Try another vehicle nearby."
    )
    assert page.locator("#unlock").count() == 0 and phone.problems == []


def test_a_rider_tops_up_through_the_payment_page(system, phone):
    signed_in(phone, system, credit_minor=1000)
    page = phone.page
    page.click("#tabs a[data-screen=wallet]")
    expect(page.locator("#balance")).to_have_text("CN¥10.00")

    with page.expect_popup() as opened:
        page.click("button:has-text('Top up CN¥20.00')")
    payer = opened.value
    payer.click("button[value=success]")

    expect(page.locator("#wallet-status")).to_have_text("Payment received. Thank you!")
    expect(page.locator("#balance")).to_have_text("CN¥30.00")
    phone.screenshot("app-6-wallet")
    assert phone.problems == []


def test_a_rider_holds_a_bike_cancels_and_reports_it_damaged(system, phone):
    held, _ = system.bike()
    signed_in(phone, system)
    page = phone.page

    page.goto(f"{system.url}/app/#/map")
    page.click(f".vehicle-marker[title='{held}']")
    page.click("#vehicle button:has-text('Hold it for me')")
    expect(page.locator("#hold")).to_contain_text("Held until")
    with system.platform.uow() as uow:
        assert (
            uow.connection.exec_driver_sql(
                "SELECT count(*) FROM reservations WHERE state = 'held'"
            ).scalar()
            == 1
        )
    page.click("#hold-cancel")
    page.wait_for_url(re.compile(r"#/map$"))

    never_used, _ = system.bike()
    page.goto(f"{system.url}/app/#/report")
    page.fill("#report input[name=code]", never_used.lower())
    page.select_option("#report select[name=category]", "brakes")
    page.click("#report button[type=submit]")
    expect(page.locator("#report-status")).to_contain_text("you have just ridden")
    # The one the rider held moments ago may be reported.
    page.fill("#report input[name=code]", held.lower())
    page.fill("#report textarea[name=note]", "front brake does not grip")
    page.click("#report button[type=submit]")
    expect(page.locator("#report-status")).to_contain_text("Thank you")
    with system.platform.uow() as uow:
        assert (
            not uow.assets.by_code(held).in_service
            or uow.connection.exec_driver_sql(
                "SELECT count(*) FROM damage_reports WHERE state = 'open'"
            ).scalar()
            == 1
        )
    assert phone.problems == []


def test_a_deposit_is_asked_for_before_the_unlock_with_its_waiver_rule(system, phone):
    code, _ = system.bike()
    price = {
        "rate_per_interval_minor": 150,
        "interval_seconds": 1800,
        "deposit_minor": 29900,
        "deposit_waiver_score": 650,
    }
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", price, system.operator()).ok
    signed_in(phone, system)  # a new rider's score is 600

    phone.page.goto(f"{system.url}/app/#/unlock/{code}")

    expect(phone.page.locator("#deposit")).to_have_text(
        "A deposit of CN¥299.00 is needed before you ride. A credit score of 650 or more waives it."
    )
    assert phone.page.locator("#unlock").count() == 0
    expect(phone.page.locator("#pay-deposit")).to_be_visible()
    assert phone.problems == []


def test_parking_outside_the_service_area_is_explained_on_the_receipt(system, phone):
    code, lock = system.bike()
    operator = system.operator()
    assert system.put(f"/api/v1/ops/zones/{CITY}", CITY_MAP, operator).ok
    price = {"rate_per_interval_minor": 150, "interval_seconds": 1800, "out_of_zone_fee_minor": 500}
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", price, operator).ok
    signed_in(phone, system)
    page = phone.page

    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    page.wait_for_url(re.compile(r"#/trip/"))
    lock.ride([tuple(p) for p in ROUTE] + [(121.4803, 31.2385), (121.4806, 31.2388)], 0.05)
    lock.close()

    expect(page.locator("#parking")).to_have_text(
        "Parked outside the service area: a fee of CN¥5.00 applies. "
        "Next time, end your ride inside the area shown on the map.",
        timeout=15_000,
    )
    assert page.inner_text("#receipt-total") == "Total: CN¥6.50"
    assert page.locator("#receipt td").all_inner_texts()[2:] == [
        "Parked outside the allowed area",
        "CN¥5.00",
    ]
    assert phone.problems == []


# The phone's BarcodeDetector: the browser's own (Chromium's, or none: jsQR reads the
# code), or one that exists but cannot read QR codes, as on some Android and iOS builds.
DETECTORS = {
    "the browser's own": "",
    "detect rejects": """
        window.BarcodeDetector = class {
          static async getSupportedFormats() { return ["qr_code"]; }
          async detect() { throw new DOMException("not supported", "NotSupportedError"); }
        };""",
    "no formats": """
        window.BarcodeDetector = class {
          static async getSupportedFormats() { return []; }
          async detect() { return []; }
        };""",
    "constructor throws": """
        window.BarcodeDetector = class {
          constructor() { throw new TypeError("BarcodeDetector is not supported"); }
        };""",
}


@pytest.mark.parametrize("detector", DETECTORS)
def test_the_camera_reads_the_qr_code_on_the_lock(system, driver, tmp_path, detector):
    code, _ = system.bike()
    # A browser of its own: its fake camera films the lock's QR code.
    browser = launch(driver, *camera_filming(f"{system.url}/q/{code}", tmp_path))
    try:
        phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="en-US")
        if DETECTORS[detector]:
            phone.context.add_init_script(DETECTORS[detector])
        signed_in(phone, system)

        phone.page.click("#tabs a[data-screen=scan]")

        phone.page.wait_for_url(re.compile(f"#/unlock/{code}$"), timeout=15_000)
        expect(phone.page.locator("#unlock")).to_be_visible()
        assert phone.problems == []
    finally:
        browser.close()


def test_a_new_rider_signs_up_and_the_app_starts_again_offline(system, phone):
    typed, e164 = fresh_mobile()
    page = phone.page
    page.goto(f"{system.url}/app/#/signup")
    ask_code_in_app(phone, "#sign-up", typed, e164)
    page.fill("#sign-up input[name=code]", code_in_browser(phone, system.url, e164))
    page.fill("input[name=name]", "Li Lei")
    page.fill("input[name=password]", "short")
    page.click("#sign-up button[type=submit]")
    expect(page.locator("#form-error")).to_have_text("Choose a password of at least 8 characters.")
    page.fill("input[name=password]", "a long enough secret")
    page.click("#sign-up button[type=submit]")
    page.wait_for_selector("#tabs a.current[data-screen=map]")
    page.evaluate("navigator.serviceWorker.ready")  # the app's files are kept by now

    phone.context.set_offline(True)
    page.reload()

    # The app itself starts; what needs the service says so in plain words.
    expect(page.locator("#tabs a[data-screen=map] span")).to_have_text("Map")
    expect(page.locator("#map-status")).to_have_text(
        "No connection to the service. Check your network."
    )


def test_a_lock_that_does_not_answer_is_explained_and_a_new_try_unlocks(system, phone):
    code, lock = system.bike(never_confirm=True)
    signed_in(phone, system)
    page = phone.page

    page.goto(f"{system.url}/app/#/unlock/{code}")
    page.click("#unlock")
    expect(page.locator("#unlock-status")).to_have_text(
        "The lock did not answer in time. You were not charged: try again or pick another vehicle.",
        timeout=15_000,
    )
    lock.logic.faults.never_confirm = False
    page.click("#unlock")  # a new attempt, not a replay of the failed one

    page.wait_for_url(re.compile(r"#/trip/"), timeout=15_000)
    assert not lock.logic.locked and phone.problems == []


def expired(token: str, secret_key: str) -> str:
    """The same access token (same session), expired a minute ago: what a phone holds after
    15 minutes in a pocket."""
    signer = URLSafeSerializer(secret_key, salt=ACCESS_TOKEN_SALT)
    return str(signer.dumps({**signer.loads(token), "exp": int(time.time()) - 60}))


def stored(page, name: str) -> str | None:
    return page.evaluate(f"localStorage.getItem('rental.{name}')")


def test_an_expired_access_token_is_renewed_without_the_rider_noticing(system, phone):
    signed_in(phone, system)
    page = phone.page
    refresh_token = stored(page, "refresh")
    stale = expired(stored(page, "token"), system.platform.config.SECRET_KEY)
    page.evaluate(f"localStorage.setItem('rental.token', {stale!r})")
    assert system.get("/api/v1/me", Rider(uuid.uuid4(), stale)).json()["error"]["code"] == (
        "token_expired"
    )

    page.goto(f"{system.url}/app/#/me")

    expect(page.locator("#score")).to_have_text("600")
    assert stored(page, "token") != stale
    assert stored(page, "refresh") not in (None, refresh_token)  # spent, and a new one kept
    assert phone.problems == []


def test_a_rider_signs_in_with_the_code_texted_to_the_phone(system, phone):
    typed, e164 = fresh_mobile()
    page = phone.page
    page.goto(f"{system.url}/app/")  # signing in by code is the app's first screen
    page.fill("#sms-sign-in input[name=phone]", typed)
    page.click("#send-code")
    expect(page.locator("#code-sent")).to_have_text(
        f"We texted a code to {e164}. It is good for 5 minutes."
    )
    texts = phone.context.new_page()  # the demo's page of texts, as a tester reads it
    texts.goto(f"{system.url}/sandbox/sms")
    row = texts.locator("tr", has=texts.locator("td.phone", has_text=e164)).first
    code = re.search(r"\b(\d{6})\b", row.locator("td.text").inner_text()).group(1)
    texts.close()

    page.fill("#sms-sign-in input[name=code]", f"{(int(code) + 1) % 10**6:06d}")
    page.click("#sms-sign-in button[type=submit]")
    expect(page.locator("#form-error")).to_have_text(
        "That code is not right, or no longer good. Ask for a new one."
    )
    page.fill("#sms-sign-in input[name=code]", code)
    page.click("#sms-sign-in button[type=submit]")
    page.wait_for_selector("#tabs a.current[data-screen=map]")
    me = system.get("/api/v1/me", Rider(uuid.uuid4(), stored(page, "token"))).json()
    assert me["phone"] == e164
    assert phone.problems == []


def test_signing_out_ends_the_session_on_the_platform(system, phone):
    signed_in(phone, system)
    page = phone.page
    token = stored(page, "token")
    page.goto(f"{system.url}/app/#/me")
    page.click("#sign-out")

    page.wait_for_selector("#sms-sign-in")
    assert stored(page, "token") is None and stored(page, "refresh") is None
    refused = system.get("/api/v1/me", Rider(uuid.uuid4(), token)).json()
    assert refused["error"]["code"] == "session_ended"
    assert phone.problems == []


def test_a_rider_changes_the_password_and_other_devices_are_signed_out(system, phone):
    rider = signed_in(phone, system)
    other_device = Rider(rider.id, system.sign_in(rider.phone))
    page = phone.page
    page.goto(f"{system.url}/app/#/me")
    form = page.locator("#password")
    form.locator("input[name=current_password]").fill("not my password")
    form.locator("input[name=new_password]").fill("a brand new password")
    form.locator("button[type=submit]").click()
    expect(page.locator("#password-message")).to_have_text("The current password is not right.")

    form.locator("input[name=current_password]").fill(RIDER_PASSWORD)
    form.locator("button[type=submit]").click()

    expect(page.locator("#password-message")).to_have_text(
        "Password changed. Your other devices are signed out."
    )
    refused = system.get("/api/v1/me", other_device).json()
    assert refused["error"]["code"] == "session_ended"
    page.goto(f"{system.url}/app/#/trips")  # this phone stays signed in
    page.wait_for_selector("#tabs a.current[data-screen=trips]")
    assert phone.problems == []


def test_signing_up_with_a_number_that_has_a_password_account_says_to_link_it(system, phone):
    # The code proves the number, so its owner may learn it had an account, made by the
    # old password sign-up: they link it with its password (test_sms_sign_in).
    typed, e164 = fresh_mobile()
    old_account(system, typed.replace(" ", ""))
    page = phone.page
    page.goto(f"{system.url}/app/#/signup")
    ask_code_in_app(phone, "#sign-up", typed, e164)
    page.fill("#sign-up input[name=code]", code_in_browser(phone, system.url, e164))
    page.fill("input[name=name]", "Someone Else")
    page.click("#sign-up button[type=submit]")

    expect(page.locator("#form-error")).to_have_text(
        "This number's account has a password. Type it with the code, once: from then on "
        "a code is enough."
    )
    assert page.is_hidden("#tabs")
    assert phone.problems == []
