"""Bad input gets a 4xx with a JSON body that says what was wrong, never a 500."""

import pytest

from tests.helpers import RIDER_PASSWORD, make_user


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "invalid_json"),
        ([], "invalid_json"),
        ({"phone": "123", "password": "long enough", "name": "A"}, "invalid_phone"),
        ({"phone": "13812345678", "password": "short", "name": "A"}, "invalid_password"),
        ({"phone": "13812345678", "password": "long enough", "name": ""}, "invalid_name"),
        ({"phone": 13812345678, "password": "long enough", "name": "A"}, "invalid_phone"),
    ],
)
def test_sign_up_explains_what_is_wrong(system, body, code):
    answer = system.post("/api/v1/riders", body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


def test_a_sign_up_without_the_texted_code_is_told_to_ask_for_one(system):
    body = {"phone": "13812345678", "password": "long enough", "name": "A"}
    answer = system.post("/api/v1/riders", body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "code_required")
    assert "/api/v1/auth/sms-codes" in answer.json()["error"]["message"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(system):
    rider = make_user(system.platform)
    for phone, password in ((rider.phone, "wrong password"), ("13800009999", RIDER_PASSWORD)):
        answer = system.post("/api/v1/auth/token", {"phone": phone, "password": password})
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "bad_credentials")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"idempotency_key": "k" * 16}, 400, "invalid_qr"),
        ({"qr": "https://x/q/../../etc", "idempotency_key": "k" * 16}, 400, "invalid_qr"),
        ({"qr": "BK00001"}, 400, "invalid_idempotency_key"),
        ({"qr": "BK00001", "idempotency_key": "short"}, 400, "invalid_idempotency_key"),
        ({"qr": "NO-SUCH-BIKE", "idempotency_key": "k" * 16}, 404, "asset_not_found"),
    ],
)
def test_a_scan_explains_what_is_wrong(system, body, status, code):
    rider = system.rider()
    answer = system.post("/api/v1/rentals", body, rider)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/rentals/not-a-uuid", 400),
        ("/api/v1/rentals/00000000-0000-0000-0000-000000000000", 404),
        ("/api/v1/rentals?limit=abc", 400),
        ("/api/v1/rentals?limit=1000", 400),
        ("/api/v1/rentals/00000000-0000-0000-0000-000000000000?wait=nan", 400),
        ("/api/v1/nowhere", 404),
    ],
)
def test_bad_paths_and_queries_are_4xx_json(system, path, status):
    answer = system.get(path, system.rider())
    assert answer.status_code == status
    assert answer.json()["error"]["code"]


def test_registering_assets_checks_kind_lock_and_city(system):
    operator = system.operator()
    base = {"code": "BK-NEW-1", "kind": "bike", "lock_id": "NO-SUCH-LOCK", "city_id": "testcity"}
    cases = [
        ({**base, "kind": "spaceship"}, 400, "invalid_kind"),
        ({**base, "code": "bad code!"}, 400, "invalid_asset_code"),
        ({**base, "city_id": "atlantis"}, 404, "city_not_found"),
        ({k: v for k, v in base.items() if k != "city_id"}, 400, "invalid_city_id"),
        (base, 404, "lock_not_found"),
    ]
    system.bike()  # creates the test city
    for body, status, code in cases:
        answer = system.post("/api/v1/ops/assets", body, operator)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    bad_lock = system.post("/api/v1/ops/locks", {"lock_id": "a/b#"}, operator)
    assert (bad_lock.status_code, bad_lock.json()["error"]["code"]) == (400, "invalid_lock_id")


def test_a_qr_code_opened_by_a_phone_camera_names_the_asset(system):
    answer = system.get("/q/BK00042")
    assert answer.status_code == 200
    assert answer.json()["code"] == "BK00042"
