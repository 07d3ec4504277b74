"""Rate limits through HTTP, the real database and the project-local Redis: each limited
group answers 429 with Retry-After and the JSON error once its client has used its share,
and only that client.

Each test serves an app of its own on the session's platform, with low limits and a key
prefix of its own (tests.helpers.rate_limit_settings); riders and bikes come from the
`system` fixture, whose own app has limits no test meets.
"""

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from rental.app import create_app
from rental.bootstrap import Platform
from tests.e2e.system import Rider
from tests.helpers import CITY, RIDER_PASSWORD, make_city, make_user, rate_limit_settings


class LimitedApi:
    """The API on a thread, with the given limits (and any other settings)."""

    def __init__(self, platform: Platform, settings: dict[str, Any]) -> None:
        app = create_app(test_config=settings, platform=platform)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def post(
        self, path: str, body: object = None, who: Rider | None = None, **headers: str
    ) -> requests.Response:
        return requests.post(self.url + path, json=body, headers=_headers(who, headers))

    def get(self, path: str, who: Rider | None = None, **headers: str) -> requests.Response:
        return requests.get(self.url + path, headers=_headers(who, headers))

    def sign_in(self, phone: str, password: str, forwarded_for: str = "") -> requests.Response:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        body = {"phone": phone, "password": password}
        return requests.post(self.url + "/api/v1/auth/token", json=body, headers=headers)


def _headers(who: Rider | None, extra: dict[str, str]) -> dict[str, str]:
    return {**(who.headers if who else {}), **extra}


@pytest.fixture
def limited(system) -> Iterator[Any]:
    """limited(RATE_LIMIT_SCANS="2/minute", TRUSTED_PROXY_COUNT=1) -> a LimitedApi."""
    started: list[LimitedApi] = []

    def start(**settings: Any) -> LimitedApi:
        limits = {k: v for k, v in settings.items() if k.startswith("RATE_LIMIT_")}
        others = {k: v for k, v in settings.items() if not k.startswith("RATE_LIMIT_")}
        started.append(LimitedApi(system.platform, {**rate_limit_settings(**limits), **others}))
        return started[-1]

    yield start
    for api in started:
        api.stop()


def assert_rate_limited(answer: requests.Response, period_s: int = 60) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answer.headers["Retry-After"]) <= period_s


def test_sign_in_is_limited_per_phone_from_any_address(system, limited):
    api = limited(RATE_LIMIT_SIGN_IN_PER_PHONE="3/minute", TRUSTED_PROXY_COUNT=1)
    target, other = make_user(system.platform), make_user(system.platform)
    # The phone written three ways is one phone (sign-in looks it up without spaces).
    spaced = f"{target.phone[:3]} {target.phone[3:7]} {target.phone[7:]}"
    for attempt, phone in enumerate([target.phone, spaced, target.phone.replace("1", "1-", 1)]):
        wrong = api.sign_in(phone, "not the password", forwarded_for=f"198.51.100.{attempt}")
        assert wrong.status_code == 401, wrong.text

    refused = api.sign_in(target.phone, RIDER_PASSWORD, forwarded_for="203.0.113.9")
    assert_rate_limited(refused)
    assert api.sign_in(other.phone, RIDER_PASSWORD, forwarded_for="203.0.113.9").ok


def test_sign_in_is_limited_per_address_whatever_the_phone(system, limited):
    api = limited(RATE_LIMIT_SIGN_IN_PER_ADDRESS="3/minute", TRUSTED_PROXY_COUNT=1)
    rider = make_user(system.platform)
    for number in range(3):
        wrong = api.sign_in(f"1390000{number:04d}", "guess", forwarded_for="198.51.100.7")
        assert wrong.status_code == 401, wrong.text

    assert_rate_limited(api.sign_in(rider.phone, RIDER_PASSWORD, forwarded_for="198.51.100.7"))
    assert api.sign_in(rider.phone, RIDER_PASSWORD, forwarded_for="198.51.100.8").ok


def test_a_sign_in_body_without_a_phone_is_counted_not_a_500(system, limited):
    api = limited(RATE_LIMIT_SIGN_IN_PER_PHONE="2/minute")
    bodies: list[object] = [["not", "an object"], {"phone": ["138"], "password": "x"}, "x"]
    answers = [api.post("/api/v1/auth/token", body) for body in bodies]
    assert [a.status_code for a in answers[:2]] == [400, 400]
    assert_rate_limited(answers[2])


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(system, limited):
    api = limited(RATE_LIMIT_SIGN_UP_PER_ADDRESS="2/minute")
    answers = [
        api.post(
            "/api/v1/riders",
            {"phone": f"1370000{n:04d}", "password": RIDER_PASSWORD, "name": "Ada"},
            **{"X-Forwarded-For": f"198.51.100.{n}"},
        )
        for n in range(3)
    ]
    # No code was texted: each is refused (400 code_required), and still counted.
    assert [a.status_code for a in answers[:2]] == [400, 400]
    assert_rate_limited(answers[2])


def test_sign_up_is_limited_per_address(system, limited):
    api = limited(RATE_LIMIT_SIGN_UP_PER_ADDRESS="2/minute")
    sign_ups = [
        api.post(
            "/api/v1/riders",
            {"phone": f"1360000{n:04d}", "password": RIDER_PASSWORD, "name": "Ada"},
        )
        for n in range(3)
    ]
    assert [a.json()["error"]["code"] for a in sign_ups[:2]] == ["code_required"] * 2
    assert_rate_limited(sign_ups[2])
    with system.platform.uow() as uow:
        assert uow.users.by_phone("13600000002") is None  # refused before it was made


def test_scans_are_limited_per_rider_not_per_address(system, limited):
    api = limited(RATE_LIMIT_SCANS="2/minute")
    make_city(system.platform)
    eager, other = system.rider(), system.rider()

    def scan(who: Rider) -> requests.Response:
        body = {"qr": "https://ride.example/q/NOSUCHBIKE", "idempotency_key": uuid.uuid4().hex}
        return api.post("/api/v1/rentals", body, who)

    assert [scan(eager).status_code for _ in range(2)] == [404, 404]
    assert_rate_limited(scan(eager))
    assert scan(other).status_code == 404  # the same address, another rider


def test_holds_are_limited_per_rider(system, limited):
    api = limited(RATE_LIMIT_HOLDS="1/minute")
    code, _ = system.bike()
    rider = system.rider(credit_minor=1000)
    held = api.post(
        "/api/v1/reservations", {"code": code, "idempotency_key": uuid.uuid4().hex}, rider
    )
    assert held.status_code == 201, held.text
    cancelled = api.post(f"/api/v1/reservations/{held.json()['id']}/cancel", None, rider)
    assert cancelled.ok, cancelled.text  # a cancel is never held back by the holds' limit
    again = api.post(
        "/api/v1/reservations", {"code": code, "idempotency_key": uuid.uuid4().hex}, rider
    )
    assert_rate_limited(again)


def test_top_ups_deposits_and_refunds_share_one_limit_of_payment_orders(system, limited):
    api = limited(RATE_LIMIT_PAYMENT_ORDERS="2/minute")
    make_city(system.platform)
    rider = system.rider()
    top_up = api.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 500, "idempotency_key": "top-up-1"}, rider
    )
    assert top_up.status_code == 201, top_up.text
    deposit = {"city_id": CITY, "kind": "bike", "idempotency_key": "deposit-1"}
    assert api.post("/api/v1/deposits", deposit, rider).status_code != 429
    refund = api.post("/api/v1/deposits/refunds", {"idempotency_key": "refund-1"}, rider)
    assert_rate_limited(refund)
    second = api.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 500, "idempotency_key": "top-up-2"}, rider
    )
    assert_rate_limited(second)


def test_damage_reports_are_limited_per_rider(system, limited):
    api = limited(RATE_LIMIT_DAMAGE_REPORTS="1/minute")
    code, _ = system.bike()
    rider = system.rider()
    first = api.post("/api/v1/damage-reports", {"code": code, "category": "brakes"}, rider)
    assert first.status_code != 429, first.text
    second = api.post("/api/v1/damage-reports", {"code": code, "category": "chain"}, rider)
    assert_rate_limited(second)


def test_damage_photos_are_limited_per_rider(system, limited):
    api = limited(RATE_LIMIT_DAMAGE_PHOTOS="1/minute")
    rider = system.rider()
    headers = {**rider.headers, "Content-Type": "image/jpeg"}
    first = requests.post(api.url + "/api/v1/damage-photos", data=b"no jpeg", headers=headers)
    assert first.status_code == 400, first.text  # counted, though refused
    second = requests.post(api.url + "/api/v1/damage-photos", data=b"no jpeg", headers=headers)
    assert_rate_limited(second)
    # Its own budget: a rider who took a photo again may still report.
    report = api.post("/api/v1/damage-reports", {"code": "NOPE", "category": "brakes"}, rider)
    assert report.status_code != 429, report.text


def test_every_other_endpoint_has_the_default_limit_per_endpoint(system, limited):
    api = limited(RATE_LIMIT_DEFAULT="2/minute")
    rider = system.rider()
    nearby = "/api/v1/vehicles/nearby?lon=121.47&lat=31.23"
    assert [api.get(nearby).status_code for _ in range(2)] == [200, 200]
    assert_rate_limited(api.get(nearby))
    assert api.get("/api/v1/me", rider).ok  # another endpoint: a count of its own
    assert api.get("/app/").ok


def test_the_gateway_notifications_and_the_health_check_are_never_limited(system, limited):
    api = limited(RATE_LIMIT_DEFAULT="1/minute")
    for _ in range(3):
        assert api.get("/healthz").ok
        unsigned = api.post("/api/v1/payments/notify/sandbox", {"event": "forged"})
        assert unsigned.status_code in (400, 401, 403), unsigned.text


def test_gbfs_feeds_share_one_limit_per_address(system, limited):
    api = limited(RATE_LIMIT_GBFS="2/minute", RATE_LIMIT_DEFAULT="1/minute")
    make_city(system.platform)
    assert api.get("/gbfs/v3/manifest.json").ok
    assert api.get(f"/gbfs/v3/{CITY}/system_information.json").ok
    assert_rate_limited(api.get(f"/gbfs/v3/{CITY}/vehicle_status.json"))


def test_the_apps_funnel_steps_are_limited_per_address(system, limited):
    api = limited(RATE_LIMIT_APP_EVENTS="2/minute", RATE_LIMIT_DEFAULT="1/minute")
    make_city(system.platform)
    for _ in range(2):  # a new visit each time: still the one address
        body = {
            "visit_id": str(uuid.uuid4()),
            "events": [{"step": "map_opened", "city_id": CITY}],
        }
        assert api.post("/api/v1/app-events", body).status_code == 202
    body = {"visit_id": str(uuid.uuid4()), "events": [{"step": "map_opened", "city_id": CITY}]}
    assert_rate_limited(api.post("/api/v1/app-events", body))


def test_mds_counts_per_city_client_and_answers_in_the_mds_error_shape(system, limited):
    api = limited(RATE_LIMIT_MDS="2/minute")
    operator = system.operator()
    make_city(system.platform)
    tokens = []
    for name in ("DOT", "Contractor"):
        client = system.post("/api/v1/ops/mds-clients", {"city_id": CITY, "name": name}, operator)
        assert client.status_code == 201, client.text
        tokens.append({"Authorization": f"Bearer {client.json()['token']}"})

    for _ in range(2):
        assert api.get("/mds/v2/vehicles", **tokens[0]).ok
    refused = api.get("/mds/v2/vehicles/status", **tokens[0])
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["error_description"].startswith("too many requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert api.get("/mds/v2/vehicles", **tokens[1]).ok  # another client, another count


def test_guessing_the_current_password_in_a_password_change_is_limited(system, limited):
    api = limited(RATE_LIMIT_PASSWORD_CHANGES="2/minute")
    rider = system.rider()
    guesses = [
        api.post(
            "/api/v1/me/password",
            {"current_password": f"guess number {n}", "new_password": "a new long password"},
            rider,
        )
        for n in range(3)
    ]
    assert [a.status_code for a in guesses[:2]] == [403, 403]
    assert_rate_limited(guesses[2])
