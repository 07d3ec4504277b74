"""Fault tests: the platform's real processes, broken for real (`-m faults`).

One FaultSystem for the package: the API on a thread, lockctl and the simulator as child
processes, the project's PostgreSQL and Mosquitto, which tests stop and start through
scripts/services.sh. Each test gets the system back whole, whatever the last one broke.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.scene import Scene
from tests.faults.system import FaultSystem

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


# Per package: its lockctl processes must be gone before the integration tests, which
# drive lock reports by hand.
@pytest.fixture(scope="package")
def fault_system(database_url: str) -> Iterator[FaultSystem]:
    mqtt_url = os.environ.get("MQTT_URL")
    if not mqtt_url:
        pytest.fail("MQTT_URL is not set: run the fault tests with `make faults`")
    system = FaultSystem(database_url, mqtt_url)
    system.start()
    yield system
    system.stop()


@pytest.fixture
def system(fault_system: FaultSystem) -> Iterator[FaultSystem]:
    fault_system.reset_test()
    yield fault_system
    fault_system.services.ensure_running()


@pytest.fixture
def scene(system: FaultSystem) -> Iterator[Callable[..., Scene]]:
    """Makes the test's world: `scene(bikes=2, zones=..., heartbeat_s=...)`."""
    made: list[Scene] = []

    def make(**options: object) -> Scene:
        made.append(Scene(system, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for each in made:
        each.monitor.stop()
