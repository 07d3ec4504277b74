"""Runs the platform as in production for a benchmark: its own database, the API under
gunicorn, lockctl and a simulated fleet, each as a separate process.

`Bench(riders, api_workers=2, api_threads=32, lockctl_processes=1)`: how many gunicorn
workers (and threads in each) serve the API and how many lockctl processes share the lock
reports (one share group), for `make bench-scale`, which changes them between runs of one
seeded fleet (`running(forget_locks=False)`, then `forget_locks()`). `cpu_meter()` counts
the CPU time each of them (and PostgreSQL, Mosquitto, the benchmark's own riders) spends.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.cpu import CpuMeter, pid_listening_on, postgres_server_pid
from rental.adapters.locks.mqtt import BrokerAddress
from rental.adapters.migrations import ensure_postgis, upgrade
from rental.adapters.passwords import WerkzeugPasswords
from rental.adapters.tables import metadata
from rental.bootstrap import Platform, libpq_url
from rental.config import Config
from rental.domain.cities import City
from rental.domain.fleet import AssetKind
from rental.domain.pricing import Tariff
from rental.domain.riders import Role
from rental.services import accounts, assets
from rental.services.commands.assets import ProvisionLock, RegisterVehicle
from rental.services.commands.riders import RegisterUser

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"
# The riders' passwords are hashed with a cheap method (the hash names it, so the API checks
# it as it is): scrypt would spend minutes seeding and signing in, none of it measured.
CHEAP_PASSWORDS = WerkzeugPasswords("pbkdf2:sha256:1")
# Threads per API worker, as deploy/systemd/rental-api.service runs it. One thread per rider
# of a burst (64 a worker here) was slower: 73 to 119 unlocks a second where 32 gave 105 to
# 131, in four runs of each in turns, at 1.3 to 1.5 times the CPU per unlock
# (docs/performance.md). A scan beyond the threads waits in gunicorn's queue, and is timed.
API_THREADS = 32


def bench_config(**settings: Any) -> Config:
    """The platform's settings for a benchmark: `settings`, with the environment's keys that
    seal locks' signing keys (var/env.sh), which its API and lockctl processes inherit."""
    keys = os.environ.get("LOCK_KEY_ENCRYPTION_KEYS", "")
    if not keys:
        raise SystemExit("LOCK_KEY_ENCRYPTION_KEYS is not set: run through make (var/env.sh)")
    return Config(LOCK_KEY_ENCRYPTION_KEYS=keys, **settings)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_database(suffix: str = "bench") -> str:
    """A database of the benchmark's own beside DATABASE_URL's, created when missing."""
    base = make_url(os.environ["DATABASE_URL"])
    url = base.set(database=f"{base.database}_{suffix}").render_as_string(hide_password=False)
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(admin), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (make_url(url).database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{make_url(url).database}"')
    ensure_postgis(url)
    upgrade(url)
    return url


class Bench:
    def __init__(
        self,
        riders: int,
        *,
        api_workers: int = 2,
        api_threads: int = API_THREADS,
        lockctl_processes: int = 1,
    ) -> None:
        self.database_url = bench_database()
        self.secret = uuid.uuid4().hex
        self.config = bench_config(
            DATABASE_URL=self.database_url, MQTT_URL=os.environ["MQTT_URL"], SECRET_KEY=self.secret
        )
        self.platform = Platform(self.config)
        self.riders = riders
        self.api_workers = api_workers
        self.api_threads = api_threads
        self.lockctl_processes = lockctl_processes
        self.processes: dict[str, list[subprocess.Popen[bytes]]] = {}
        self.api_port = free_port()
        self.sim_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.var = ROOT / "var" / "bench"
        self.var.mkdir(parents=True, exist_ok=True)
        self.lock_ids: list[str] = []
        self.codes: list[str] = []
        self.tokens: list[str] = []

    def seed(self) -> None:
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        with self.platform.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        with self.platform.uow() as uow:
            uow.cities.add(
                City("bench", "Bench City", "Asia/Shanghai", "CNY", "zh-CN", 121.47, 31.23)
            )
            uow.pricing_plans.publish("bench", "bike", Tariff("CNY", 0, 150, 1800))
            uow.commit()
        run = uuid.uuid4().hex[:6].upper()
        entries = []
        for number in range(self.riders):
            rider = accounts.register(
                self.platform.uow(),
                CHEAP_PASSWORDS,
                RegisterUser(f"1{number:010d}", PASSWORD, f"Rider {number}", Role.RIDER),
            )
            accounts.grant_promotion(
                self.platform.uow(), rider.id, "CNY", 100_000, f"bench:{rider.id}"
            )
            # With the platform's account, before lockctl (which API workers ask) runs.
            credentials = assets.provision_lock(
                self.platform.uow(),
                self.platform.accounts(),
                ProvisionLock(f"B{run}-{number:04d}"),
            )
            code = f"BB{run}{number:04d}"
            assets.register_asset(
                self.platform.uow(),
                RegisterVehicle(code, AssetKind.BIKE, "bench", credentials.lock_id),
            )
            self.lock_ids.append(credentials.lock_id)
            self.codes.append(code)
            entries.append(
                {
                    "lock_id": credentials.lock_id,
                    "mqtt_password": credentials.mqtt_password,
                    "signing_key": credentials.signing_key_hex,
                    "lon": 121.47,
                    "lat": 31.23,
                }
            )
        fleet_file = self.var / "fleet.json"
        fleet_file.write_text(json.dumps(entries))
        self.fleet_file = fleet_file

    @contextmanager
    def running(self, *, forget_locks: bool = True) -> Iterator[None]:
        """The platform's processes, up and with every lock online, while the block runs;
        `forget_locks=False` keeps the locks' broker accounts for another run."""
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret,
            # Every rider signs in and scans from 127.0.0.1, far faster than riders would.
            "RATELIMIT_ENABLED": "0",
            # On a machine shared with other work a scan may wait for the CPU longer than a
            # rider would: it is measured, not failed (the path is the same).
            "UNLOCK_TIMEOUT_SECONDS": "60",
            # Riders sign in once for several runs (bench.scale restarts the API between them).
            "ACCESS_TOKEN_SECONDS": "3600",
        }
        python = sys.executable
        run = uuid.uuid4().hex[:8]
        logs = ROOT / "var" / "log"
        logs.mkdir(parents=True, exist_ok=True)
        stack = ExitStack()  # the log files, closed once the processes are gone

        def start(name: str, command: list[str], extra: dict[str, str], log: str) -> None:
            output = stack.enter_context(open(logs / f"bench-{log}.log", "w"))
            process = subprocess.Popen(
                command, env={**env, **extra}, stdout=output, stderr=subprocess.STDOUT
            )
            self.processes.setdefault(name, []).append(process)

        for number in range(self.lockctl_processes):
            lockctl = {
                "LOCKCTL_INSTANCE": f"bench-{run}-{number}",
                "LOCKCTL_SHARE_GROUP": f"bench-{run}",
                "LOCKCTL_PERSISTENT_SESSION": "0",
            }
            start("lockctl", [python, "-m", "lockctl"], lockctl, f"lockctl-{number}")
        simulator = ["--fleet", str(self.fleet_file), "--port", str(self.sim_port)]
        start("simulator", [python, "-m", "simulator", *simulator], {}, "simulator")
        # A connection per thread, as deploy/rental.env.example says: a request beyond the
        # pool would open and close a connection of its own.
        start("api", self._gunicorn(python), {"DB_POOL_SIZE": str(self.api_threads)}, "api")
        try:
            self._wait_until_ready()
            yield
        finally:
            everything = [process for group in self.processes.values() for process in group]
            for process in everything:
                process.terminate()
            for process in everything:
                process.wait(timeout=10)
            self.processes.clear()
            stack.close()
            if forget_locks:
                self.forget_locks()

    def forget_locks(self) -> None:
        """Delete the locks' broker accounts made by `seed`."""
        for lock_id in self.lock_ids:
            self.platform.accounts().delete_lock_account(lock_id)

    def _gunicorn(self, python: str) -> list[str]:
        return [
            str(Path(python).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.api_port}",
            "--workers",
            str(self.api_workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(self.api_threads),
            # Riders open their connection before the clock starts, then wait for
            # the others: gunicorn's 2 s keep-alive would close it under them.
            "--keep-alive",
            "60",
            "rental.app:create_app()",
        ]

    def profiled_pids(self) -> dict[str, int]:
        """Gunicorn's master (py-spy follows it into the workers) and each lockctl."""
        pids = {"api": self.processes["api"][0].pid}
        for number, process in enumerate(self.processes["lockctl"]):
            pids[f"lockctl-{number}"] = process.pid
        return pids

    def cpu_meter(self) -> CpuMeter:
        """Every process of the platform, by role, and this benchmark's riders."""
        meter = CpuMeter()
        for name, group in self.processes.items():
            for process in group:
                meter.watch(name, process.pid)
        with self.platform.engine.connect() as connection:
            data = connection.execute(text("SHOW data_directory")).scalar_one()
        meter.watch("postgres", postgres_server_pid(data))
        broker = pid_listening_on(BrokerAddress.from_url(self.config.MQTT_URL).port)
        if broker is not None:
            meter.watch("mosquitto", broker)
        meter.watch("riders", os.getpid(), with_descendants=False)
        return meter

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.api}/healthz", timeout=5).ok and self._locks_online():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the platform did not come up; see var/log/bench-*.log")

    def _locks_online(self) -> bool:
        with self.platform.engine.connect() as connection:
            online = connection.execute(text("SELECT count(*) FROM locks WHERE online")).scalar()
        return online == len(self.lock_ids)

    def sign_in_all(self) -> None:
        """Each rider's access token, once (they outlive a restart of the API)."""
        for number in range(len(self.tokens), self.riders):
            answer = requests.post(
                f"{self.api}/api/v1/auth/token",
                json={"phone": f"1{number:010d}", "password": PASSWORD},
            )
            answer.raise_for_status()
            self.tokens.append(answer.json()["access_token"])
