"""/readyz follows the services for real: PostgreSQL or Mosquitto stopped, the API says
it is not ready and names why (503), and ready again once the service is back; /healthz
answers all along (the process is alive)."""

import os
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from rental.bootstrap import Platform
from tests.faults.harness import Services
from tests.faults.parts import ApiServer
from tests.helpers import eventually

# paho's reconnect waits 0.5-5 s first, then 1 s, 2 s...: a short outage is over within it.
BROKER_BACK_SECONDS = 45


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    services = Services(database_url, os.environ["MQTT_URL"])
    yield services
    services.ensure_running()


@pytest.fixture
def api(platform: Platform) -> Iterator[str]:
    """The API on a platform of its own: its broker connection is this test's alone."""
    own = Platform(replace(platform.config))
    server = ApiServer(own)
    server.start()
    yield server.url
    server.stop()
    own.engine.dispose()


def readiness(url: str) -> requests.Response:
    return requests.get(f"{url}/readyz", timeout=15)


def is_ready(url: str) -> bool:
    return readiness(url).status_code == 200


def test_readiness_fails_while_the_database_is_stopped_and_recovers(api, services):
    eventually(lambda: is_ready(api), 15, "ready at first")
    services.stop_postgres()
    try:
        answer = readiness(api)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"].startswith("not answering")
        assert body["checks"]["broker"] == "ok"
        assert requests.get(f"{api}/healthz", timeout=5).status_code == 200
    finally:
        services.start_postgres()
    eventually(lambda: is_ready(api), 15, "ready once PostgreSQL is back")
    assert readiness(api).json()["checks"] == {"database": "ok", "schema": "ok", "broker": "ok"}


def test_readiness_fails_while_the_broker_is_stopped_and_recovers(api, services):
    eventually(lambda: is_ready(api), 15, "ready at first")
    services.stop_mosquitto()
    try:
        eventually(lambda: readiness(api).status_code == 503, 10, "not ready without a broker")
        body = readiness(api).json()
        assert body["checks"]["broker"] != "ok"
        assert body["checks"]["database"] == "ok"
        assert requests.get(f"{api}/healthz", timeout=5).status_code == 200
    finally:
        services.start_mosquitto()
    eventually(lambda: is_ready(api), BROKER_BACK_SECONDS, "ready once the broker is back")
