"""A backup restores: riders, a ride, money in the books and provisioned locks, backed up
from the running platform (its database and its broker's accounts together), restored
into a fresh PostgreSQL and a fresh Mosquitto of their own (scripts/services.sh with
RENTAL_VAR), and found there intact: the books balance to the same totals, and a
restored lock connects with the credentials it was provisioned with."""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from rental.adapters.locks.mqtt import BrokerAddress, MqttClient, MqttError
from rental.bootstrap import libpq_url

pytestmark = pytest.mark.backup

ROOT = Path(__file__).resolve().parents[2]
SOURCE_VAR = ROOT / "var"
ROUTE = [(121.470, 31.230), (121.474, 31.232), (121.478, 31.236)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass
class Services:
    env: dict[str, str]  # RENTAL_VAR and the ports: scripts/services.sh acts on these
    home: Path
    database_url: str
    mqtt_url: str


@pytest.fixture
def fresh_services() -> Iterator[Services]:
    """A PostgreSQL and a Mosquitto of their own, new, with the secrets of the platform
    backed up (var/secrets: what an operator keeps in the environment file, apart)."""
    home = Path(tempfile.mkdtemp(prefix="rental-restore-"))
    home.chmod(0o755)  # PostgreSQL runs as its own user when we are root, and keeps data here
    shutil.copytree(SOURCE_VAR / "secrets", home / "secrets")  # the backed-up machine's
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "MQTT_URL", "RATELIMIT_STORAGE_URI")
    }
    env.update(
        RENTAL_VAR=str(home),
        RENTAL_PG_PORT=str(free_port()),
        RENTAL_MQTT_PORT=str(free_port()),
        RENTAL_MQTTS_PORT=str(free_port()),  # its TLS listener too: never another broker's
        RATELIMIT_STORAGE_URI="memory://",  # no Redis: nothing here counts rate limits
    )
    try:
        run(["scripts/services.sh", "start"], env)
        exported = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (home / "env.sh").read_text().splitlines()
        )
        yield Services(env, home, exported["DATABASE_URL"], exported["MQTT_URL"])
    finally:
        subprocess.run(["scripts/services.sh", "stop"], cwd=ROOT, env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)


def backup(database_url: str, to: Path) -> Path:
    accounts = SOURCE_VAR / "mosquitto" / "dynamic-security.json"
    command = [sys.executable, "-m", "rental.entrypoints.backup"]
    command += ["--database-url", database_url, "--broker-accounts", str(accounts)]
    return Path(run([*command, "create", "--to", str(to)], dict(os.environ)).strip())


def restore(archive: Path, services: Services) -> str:
    command = [sys.executable, "-m", "rental.entrypoints.backup"]
    command += ["--database-url", services.database_url]
    command += ["--broker-accounts", str(services.home / "mosquitto" / "dynamic-security.json")]
    command += ["restore", str(archive)]
    command += ["--broker-stop", "scripts/services.sh stop-mosquitto"]
    command += ["--broker-start", "scripts/services.sh start-mosquitto"]
    return run(command, services.env)


def check_books(database_url: str) -> str:
    environment = {**os.environ, "DATABASE_URL": database_url}
    return run([sys.executable, "-m", "rental", "check-books"], environment)


def rows(database_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute(query, params).fetchall()


def connects(mqtt_url: str, username: str, password: str) -> bool:
    address = BrokerAddress.from_url(mqtt_url).with_credentials(username, password)
    client = MqttClient(address, username)  # locks' accounts are bound to their id
    try:
        client.connect()
    except MqttError:
        return False
    client.disconnect()
    return True


def a_ride(system) -> tuple[object, str, object]:
    code, lock = system.bike()
    rider = system.rider(credit_minor=2000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.ride(ROUTE, interval_s=0.05)
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")
    assert ended["fare"]["amount_minor"] > 0
    return rider, rental_id, lock


def test_a_backup_restores_riders_rides_books_and_lock_accounts_into_fresh_services(
    system, database_url, fresh_services, tmp_path
):
    if not (SOURCE_VAR / "mosquitto" / "dynamic-security.json").exists():
        pytest.skip("backs up the project-local broker (make test starts it)")
    rider, rental_id, lock = a_ride(system)
    _, spare = system.bike()  # provisioned, never ridden
    books_before = check_books(database_url)

    archive = backup(database_url, tmp_path)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert archive.name.startswith("rental-backup-") and manifest["schema_revision"]
    assert manifest["database"]["rows"]["rentals"] == 1
    restored = restore(archive, fresh_services)

    fresh = fresh_services.database_url
    assert "restored the backup" in restored
    assert rows(fresh, "SELECT id FROM users WHERE id = %s", rider.id) == [(rider.id,)]
    [(state, fare)] = rows(fresh, "SELECT state, fare_minor FROM rentals WHERE id = %s", rental_id)
    assert state == "ended" and fare > 0
    assert check_books(fresh) == books_before  # the same totals, balanced
    for restored_lock in (lock, spare):
        secrets = restored_lock.secrets
        assert rows(fresh, "SELECT id FROM locks WHERE id = %s", secrets.lock_id)
        assert connects(fresh_services.mqtt_url, secrets.lock_id, secrets.mqtt_password)
    assert not connects(fresh_services.mqtt_url, lock.secrets.lock_id, "not its password")
    # The platform's own account came back too, with the password it starts with.
    assert connects_as_platform(fresh_services.mqtt_url)


def connects_as_platform(mqtt_url: str) -> bool:
    client = MqttClient(BrokerAddress.from_url(mqtt_url), "rental-api-restore-test")
    try:
        client.connect()
    except MqttError:
        return False
    client.disconnect()
    return True


def test_a_restore_refuses_a_database_that_is_not_empty_and_an_archive_tampered_with(
    database_url, fresh_services, tmp_path
):
    if not (SOURCE_VAR / "mosquitto" / "dynamic-security.json").exists():
        pytest.skip("backs up the project-local broker (make test starts it)")
    archive = backup(database_url, tmp_path)
    command = [sys.executable, "-m", "rental.entrypoints.backup"]
    command += ["--database-url", database_url, "--broker-accounts", str(tmp_path / "x.json")]
    command += ["restore", str(archive), "--broker-stop", "true", "--broker-start", "true"]

    not_empty = subprocess.run(command, capture_output=True, text=True, check=False)

    assert not_empty.returncode == 1 and "is not empty" in not_empty.stderr
    assert not (tmp_path / "x.json").exists()  # the broker's file is left alone
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "dynamic-security.json":
                data = data.replace(b'"clients"', b'"clients" ', 1)
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    command[command.index(str(archive))] = str(tampered)
    command[command.index(database_url)] = fresh_services.database_url
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "not the file its manifest describes" in refused.stderr
