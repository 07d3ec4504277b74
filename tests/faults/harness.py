"""Real processes to break: the project's PostgreSQL and Mosquitto (through
scripts/services.sh), and lockctl and the simulator as child processes of their own.

Every child is ended by its own process id, never by name: other people's lockctls and
simulators may run on the same machine.
"""

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
import requests.adapters
from sqlalchemy.engine import make_url

from rental.adapters.locks.mqtt import BrokerAddress
from rental.bootstrap import libpq_url

ROOT = Path(__file__).resolve().parents[2]
WORK_DIR = ROOT / "var" / "faults"
SERVICES = ROOT / "scripts" / "services.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Services:
    """The project-local PostgreSQL cluster, Mosquitto broker and Redis, stopped and started
    for real."""

    def __init__(self, database_url: str, mqtt_url: str) -> None:
        self.database_url = database_url
        self._env = {
            **os.environ,
            "RENTAL_PG_PORT": str(make_url(database_url).port or 5432),
            # services.sh writes the broker's configuration from this port on every start.
            "RENTAL_MQTT_PORT": str(BrokerAddress.from_url(mqtt_url).port),
        }
        redis_port = urlsplit(os.environ.get("RATELIMIT_STORAGE_URI", "")).port
        if redis_port:  # and Redis's, likewise
            self._env["RENTAL_REDIS_PORT"] = str(redis_port)
        tls_port = urlsplit(os.environ.get("LOCK_BROKER_URL", "")).port
        if tls_port:  # the broker's TLS listener, which locks are given, likewise
            self._env["RENTAL_MQTTS_PORT"] = str(tls_port)

    def _run(self, action: str) -> None:
        done = subprocess.run(
            [str(SERVICES), action], env=self._env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"services.sh {action} failed: {done.stderr.strip()}")

    def stop_postgres(self) -> None:
        self._run("stop-postgres")
        if self.database_up():
            raise RuntimeError(
                "PostgreSQL still answers after stop-postgres: DATABASE_URL is not the "
                "project-local cluster, which the fault tests need to stop"
            )

    def crash_postgres(self) -> None:
        """Killed as by a power cut: the next start recovers from the WAL."""
        self._run("crash-postgres")
        if self.database_up():
            raise RuntimeError("PostgreSQL still answers after crash-postgres")

    def start_postgres(self) -> None:
        self._run("start-postgres")
        self.wait_database()

    def stop_mosquitto(self) -> None:
        self._run("stop-mosquitto")

    def start_mosquitto(self) -> None:
        self._run("start-mosquitto")

    def restart_mosquitto(self) -> None:
        self._run("restart-mosquitto")

    def stop_redis(self) -> None:
        self._run("stop-redis")

    def start_redis(self) -> None:
        self._run("start-redis")

    def ensure_running(self) -> None:
        """After a test, whatever it broke: both services up again."""
        if not self.database_up():
            self.start_postgres()
        self._run("start-mosquitto")

    def database_up(self) -> bool:
        try:
            with psycopg.connect(libpq_url(self.database_url), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def wait_database(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.database_up():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not come back")
            time.sleep(0.2)


class ChildProcess:
    """A child with its output in a log file under var/faults/."""

    # What ends it gracefully: lockctl stops on SIGTERM, the simulator on SIGINT.
    graceful = signal.SIGTERM

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK_DIR / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> None:
        assert not self.alive, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"---- {time.strftime('%H:%M:%S')} starting {self.name}\n".encode())
            self._process = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def send(self, sig: signal.Signals) -> None:
        if self.alive:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """kill -9: no goodbye to the broker, no cleanup."""
        self.send(signal.SIGKILL)
        self.wait()

    def pause(self) -> None:
        self.send(signal.SIGSTOP)

    def resume(self) -> None:
        self.send(signal.SIGCONT)

    def stop(self, timeout: float = 10) -> None:
        if not self.alive:
            return
        self.resume()
        self.send(self.graceful)
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait(self, timeout: float = 10) -> None:
        if self._process is not None:
            self._process.wait(timeout)

    def log(self) -> str:
        """What it wrote since its last start."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if not self.alive:
                raise RuntimeError(f"{self.name} exited: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not say {text!r}: {self.log()[-2000:]}")
            time.sleep(0.05)


class Lockctl(ChildProcess):
    """`python -m lockctl` with a clean session in a share group of the test's own."""

    def __init__(self, instance: str, group: str, settings: dict[str, str]) -> None:
        env = {
            **os.environ,
            **settings,
            "LOCKCTL_INSTANCE": instance,
            "LOCKCTL_SHARE_GROUP": group,
            "LOCKCTL_PERSISTENT_SESSION": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.instance = instance
        super().__init__(f"lockctl-{instance}", [sys.executable, "-m", "lockctl"], env)

    def start(self) -> None:
        super().start()
        # Said once connected and subscribed: from then on the group includes this member.
        self.wait_for_log("consuming lock reports")


class Simulator(ChildProcess):
    """`python -m simulator` for a fleet file, driven through its control API."""

    graceful = signal.SIGINT

    def __init__(
        self,
        fleet: list[dict[str, Any]],
        mqtt_url: str,
        *,
        resend_s: float = 1.0,
        heartbeat_s: float = 5.0,
    ) -> None:
        name = f"simulator-{uuid.uuid4().hex[:6]}"
        self.fleet_file = WORK_DIR / f"{name}.json"
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        self.fleet_file.write_text(json.dumps(fleet, indent=1))
        self.port = free_port()
        argv = [sys.executable, "-m", "simulator", "--fleet", str(self.fleet_file)]
        argv += ["--port", str(self.port), "--heartbeat-s", str(heartbeat_s)]
        if "--resend-s" in simulator_options():
            argv += ["--resend-s", str(resend_s)]
        env = {**os.environ, "MQTT_URL": mqtt_url, "PYTHONUNBUFFERED": "1"}
        super().__init__(name, argv, env)
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get(f"{self.url}/locks", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start: {self.log()[-2000:]}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10) -> None:
        super().stop(timeout)
        self.fleet_file.unlink(missing_ok=True)

    # -- the control API -------------------------------------------------------------

    def lock(self, lock_id: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/locks/{lock_id}", timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def locks(self) -> dict[str, dict[str, Any]]:
        answer = self.http.get(f"{self.url}/locks", timeout=10)
        answer.raise_for_status()
        return {lock["lock_id"]: lock for lock in answer.json()["locks"]}

    def post(self, lock_id: str, action: str, body: object = None) -> dict[str, Any]:
        # Serialised here: requests refuses NaN, which a test sends as a GPS that gave up.
        answer = self.http.post(
            f"{self.url}/locks/{lock_id}/{action}",
            data=json.dumps(body, allow_nan=True),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        if not answer.ok:
            raise AssertionError(
                f"simulator {action} of {lock_id}: {answer.status_code} {answer.text}"
            )
        return dict(answer.json())

    def ride(self, lock_id: str, points: list[tuple[float, float]], interval_s: float) -> None:
        self.post(lock_id, "ride", {"points": [list(p) for p in points], "interval_s": interval_s})

    def close(self, lock_id: str) -> tuple[float, float]:
        """The rider shuts the latch; the wall-clock window (s) in which it happened."""
        before = time.time()
        self.post(lock_id, "close")
        return before, time.time()

    def offline(self, lock_id: str) -> None:
        self.post(lock_id, "offline")

    def online(self, lock_id: str) -> None:
        self.post(lock_id, "online")

    def faults(self, lock_id: str, **faults: object) -> None:
        self.post(lock_id, "faults", faults)


@functools.cache
def simulator_options() -> str:
    """The simulator's --help, to pass only options it knows (--resend-s came with 1.1)."""
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout
