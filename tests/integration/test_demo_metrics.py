"""The demo as deployed (gunicorn with two workers under supervisord): /metrics adds up
every worker's requests (prometheus-client's multiprocess mode), lockctl serves its own
metrics on its loopback port, and the API and lockctl log JSON lines."""

import json
import shutil
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rental.adapters.locks.broker_accounts import lockctl_username
from rental.entrypoints.lock_consumer import telemetry_instance
from tests.helpers import eventually
from tests.integration.test_demo_supervision import Demo, _kill, free_port

REQUESTS = 12


@pytest.fixture
def demo(database_url, broker_accounts, monkeypatch) -> Iterator[tuple[Demo, int]]:
    lockctl_port = free_port()
    monkeypatch.setenv("LOCKCTL_METRICS_PORT", str(lockctl_port))
    monkeypatch.setenv("REBALANCING_METRICS_PORT", str(free_port()))
    demo = Demo(database_url)
    try:
        yield demo, lockctl_port
    finally:
        pids = demo.pids() if demo.process.poll() is None else {}
        demo.stop()
        for pid in pids.values():
            _kill(pid)
        broker_accounts.delete_lockctl_account(lockctl_username(demo.instance))
        telemetry = lockctl_username(telemetry_instance(demo.instance))
        broker_accounts.delete_lockctl_account(telemetry)
        shutil.rmtree(demo.dir, ignore_errors=True)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for each in family.samples:
            if each.name == name and each.labels == labels:
                return float(each.value)
    return 0.0


def test_the_demos_metrics_add_up_every_api_worker_and_lockctl_serves_its_own(demo):
    demo, lockctl_port = demo
    eventually(lambda: "is running" in demo.output.read_text(), 40, "the demo's banner")
    api = f"http://127.0.0.1:{demo.port}"
    for _ in range(REQUESTS):
        assert fetch(f"{api}/api/v1/cities/nowhere/zones")[0] == 404

    status, text = fetch(f"{api}/metrics")
    assert status == 200
    route = {"method": "GET", "route": "/api/v1/cities/<city_id>/zones", "status": "4xx"}
    assert sample(text, "rental_http_request_duration_seconds_count", **route) == REQUESTS
    assert (demo.dir / "demo" / "metrics").is_dir()

    def lockctl_serves() -> bool:
        try:
            return "lockctl_queue_depth" in fetch(f"http://127.0.0.1:{lockctl_port}/metrics")[1]
        except OSError:
            return False

    eventually(lockctl_serves, 20, "lockctl's metrics")

    api_lines = [json.loads(line) for line in demo.log("api").splitlines() if line.startswith("{")]
    zones = [line for line in api_lines if line.get("route") == route["route"]]
    assert len(zones) == REQUESTS
    assert all(line["process"] == "api" and len(line["request_id"]) == 32 for line in zones)
    consuming = [line for line in demo.log("lockctl").splitlines() if "is consuming" in line]
    assert json.loads(consuming[0])["process"] == "lockctl"
