"""Redis, where the rate limits count, stopped for real: the API keeps answering, the
limits fall back to counters in the process's memory with a warning in the log, and they
count in Redis again once it is back."""

import logging
import os
from collections.abc import Iterator

import pytest
import redis

from rental.app import create_app
from tests.faults.harness import Services
from tests.helpers import RIDER_PASSWORD, eventually, make_user, rate_limit_settings


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("RATELIMIT_STORAGE_URI", "")
    if not url.startswith("redis://"):
        pytest.fail("RATELIMIT_STORAGE_URI names no Redis: run the suite with `make test`")
    return url


@pytest.fixture
def services(database_url: str, redis_url: str) -> Iterator[Services]:
    services = Services(database_url, os.environ["MQTT_URL"])
    yield services
    services.start_redis()  # whatever the test left stopped


def test_the_api_answers_and_limits_in_memory_while_redis_is_down(
    platform, clean_database, services, redis_url, caplog
):
    settings = rate_limit_settings(RATE_LIMIT_SIGN_IN_PER_PHONE="3/minute")
    client = create_app(test_config=settings, platform=platform).test_client()
    counters = redis.Redis.from_url(redis_url)
    ours = f"*{settings['RATELIMIT_KEY_PREFIX']}*"
    rider, target = make_user(platform), make_user(platform)

    def sign_in(phone: str, password: str) -> int:
        body = {"phone": phone, "password": password}
        return client.post("/api/v1/auth/token", json=body).status_code

    assert sign_in(rider.phone, RIDER_PASSWORD) == 200
    assert list(counters.scan_iter(ours)), "the sign-in was not counted in Redis"

    services.stop_redis()
    with caplog.at_level(logging.WARNING):
        assert sign_in(rider.phone, RIDER_PASSWORD) == 200
    assert "falling back to in-memory storage" in caplog.text
    assert [sign_in(target.phone, "a wrong guess") for _ in range(3)] == [401, 401, 401]
    refused = client.post(
        "/api/v1/auth/token", json={"phone": target.phone, "password": RIDER_PASSWORD}
    )
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1

    services.start_redis()  # empty: it keeps nothing across a restart

    def counted_in_redis_again() -> bool:
        assert client.get("/q/BK00001").status_code == 200
        return bool(list(counters.scan_iter(ours)))

    # Flask-Limiter looks for the storage again after 1, 2, 4 ... 32 s.
    eventually(counted_in_redis_again, timeout=70, what="the limits to count in Redis again")
