"""Runs the platform as in production for a benchmark: its own database, the API under
gunicorn, lockctl and a simulated fleet, each as a separate process."""

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

import psycopg
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rental.adapters.migrations import ensure_postgis, upgrade
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
    def __init__(self, riders: int) -> None:
        self.database_url = bench_database()
        self.secret = uuid.uuid4().hex
        self.config = Config(
            DATABASE_URL=self.database_url, MQTT_URL=os.environ["MQTT_URL"], SECRET_KEY=self.secret
        )
        self.platform = Platform(self.config)
        self.riders = riders
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
            uow.cities.add(City("bench", "Bench City", "Asia/Shanghai", "CNY", "en", 121.47, 31.23))
            uow.pricing_plans.publish("bench", "bike", Tariff("CNY", 0, 150, 1800))
            uow.commit()
        run = uuid.uuid4().hex[:6].upper()
        entries = []
        for number in range(self.riders):
            rider = accounts.register(
                self.platform.uow(),
                self.platform.passwords,
                RegisterUser(f"1{number:010d}", PASSWORD, f"Rider {number}", Role.RIDER),
            )
            accounts.grant_promotion(
                self.platform.uow(), rider.id, "CNY", 100_000, f"bench:{rider.id}"
            )
            credentials = assets.provision_lock(
                self.platform.uow(),
                self.platform.broker_accounts,
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
    def running(self) -> Iterator[None]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret,
            # Every rider signs in and scans from 127.0.0.1, far faster than riders would.
            "RATELIMIT_ENABLED": "0",
        }
        python = sys.executable
        run = uuid.uuid4().hex[:8]
        logs = ROOT / "var" / "log"
        logs.mkdir(parents=True, exist_ok=True)
        stack = ExitStack()  # the log files, closed once the processes are gone
        processes = [
            subprocess.Popen(
                [python, "-m", "lockctl"],
                env={
                    **env,
                    "LOCKCTL_INSTANCE": f"bench-{run}",
                    "LOCKCTL_SHARE_GROUP": f"bench-{run}",
                    "LOCKCTL_PERSISTENT_SESSION": "0",
                },
                stdout=stack.enter_context(open(logs / "bench-lockctl.log", "w")),
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "simulator",
                    "--fleet",
                    str(self.fleet_file),
                    "--port",
                    str(self.sim_port),
                ],
                env=env,
                stdout=stack.enter_context(open(logs / "bench-simulator.log", "w")),
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [
                    str(Path(python).parent / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{self.api_port}",
                    "--workers",
                    "2",
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "64",
                    # Riders open their connection before the clock starts, then wait for
                    # the others: gunicorn's 2 s keep-alive would close it under them.
                    "--keep-alive",
                    "60",
                    "rental.app:create_app()",
                ],
                env=env,
                stdout=stack.enter_context(open(logs / "bench-api.log", "w")),
                stderr=subprocess.STDOUT,
            ),
        ]
        try:
            self._wait_until_ready()
            yield
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=10)
            stack.close()
            for lock_id in self.lock_ids:
                self.platform.accounts().delete_lock_account(lock_id)

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
        for number in range(self.riders):
            answer = requests.post(
                f"{self.api}/api/v1/auth/token",
                json={"phone": f"1{number:010d}", "password": PASSWORD},
            )
            answer.raise_for_status()
            self.tokens.append(answer.json()["access_token"])
