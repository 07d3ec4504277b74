"""`make demo` runs its processes under supervisord: one that crashes comes back while the
others keep serving, and stopping the demo stops them all.

The demo runs here as `make demo` runs it (scripts/demo.sh, deploy/supervisor/demo.conf.in,
all five programs) on ports and in a directory of its own, without seeding the demo city
(its locks would take over the broker accounts of a demo you may be running) and with an
empty fleet for the simulator.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import xmlrpc.client
from pathlib import Path

import pytest
from supervisor.xmlrpc import SupervisorTransport

from rental.adapters.locks.broker_accounts import lockctl_username
from rental.entrypoints.lock_consumer import telemetry_instance
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
PROGRAMS = {"api", "lockctl", "rebalancing", "sandboxpay", "simulator"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Demo:
    def __init__(self, database_url: str) -> None:
        # Short: supervisord's control socket lives in it (unix socket paths are short).
        self.dir = Path(tempfile.mkdtemp(prefix="demo-"))
        (self.dir / "demo").mkdir()
        (self.dir / "demo" / "fleet.json").write_text("[]")
        self.port, self.sim_port, self.pay_port = free_port(), free_port(), free_port()
        self.instance = f"test-{uuid.uuid4().hex[:8]}"
        self.output = self.dir / "demo.out"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "VENV": str(VENV),
            "DEMO_VAR": str(self.dir),
            "DEMO_SEED": "0",
            "PORT": str(self.port),
            "SIM_PORT": str(self.sim_port),
            "PAY_PORT": str(self.pay_port),
            "LOCKCTL_INSTANCE": self.instance,
        }
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "demo.sh")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not in pytest's process group
            )

    def pids(self) -> dict[str, int]:
        """Programs with a process (starting or running) and its pid, from supervisord."""
        socket_path = self.dir / "demo" / "supervisor" / "supervisor.sock"
        transport = SupervisorTransport(None, None, f"unix://{socket_path}")
        supervisor = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        try:
            processes = supervisor.supervisor.getAllProcessInfo()
        except OSError:
            return {}  # supervisord not listening yet
        return {process["name"]: process["pid"] for process in processes if process["pid"]}

    def log(self, program: str) -> str:
        path = self.dir / "log" / f"{program}.log"
        return path.read_text() if path.exists() else ""

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Ctrl-C: the terminal sends SIGINT to the foreground process, supervisord."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def demo(database_url, broker_accounts):
    demo = Demo(database_url)
    pids: dict[str, int] = {}
    try:
        yield demo
    finally:
        if demo.process.poll() is None:
            pids = demo.pids()
        demo.stop()
        for pid in pids.values():  # whatever outlived a failed test's supervisord
            _kill(pid)
        broker_accounts.delete_lockctl_account(lockctl_username(demo.instance))
        telemetry = lockctl_username(telemetry_instance(demo.instance))
        broker_accounts.delete_lockctl_account(telemetry)
        shutil.rmtree(demo.dir, ignore_errors=True)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _group_alive(pid: int) -> bool:
    """Supervisord starts each program as the leader of its own process group."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_lockctl_comes_back_while_the_api_keeps_answering(demo):
    eventually(lambda: "is running" in demo.output.read_text(), 40, "the demo's banner")
    eventually(lambda: set(demo.pids()) == PROGRAMS, 20, "every program to be started")
    eventually(lambda: demo.log("lockctl").count("is consuming") == 1, 10, "lockctl to consume")
    before = demo.pids()
    crashed = before.pop("lockctl")

    answers: list[bool] = []
    stop_polling = threading.Event()

    def poll_health() -> None:
        while not stop_polling.is_set():
            answers.append(demo.healthy())
            time.sleep(0.1)

    poller = threading.Thread(target=poll_health, daemon=True)
    poller.start()
    try:
        os.kill(crashed, signal.SIGKILL)
        # Back under the same account and client id, consuming again.
        eventually(
            lambda: demo.log("lockctl").count("is consuming") == 2, 20, "lockctl to come back"
        )
    finally:
        stop_polling.set()
        poller.join()
    assert answers and all(answers), (
        f"{answers.count(False)} of {len(answers)} health checks failed"
    )
    after = demo.pids()
    assert after["lockctl"] != crashed
    assert {name: pid for name, pid in after.items() if name != "lockctl"} == before
    assert "lockctl-" + demo.instance in demo.log("lockctl")

    everything = [*after.values()]
    demo.stop()
    assert demo.process.returncode == 0
    # Gunicorn's workers too: every program's whole process group is gone.
    eventually(lambda: not any(map(_group_alive, everything)), 5, "every program to stop")
