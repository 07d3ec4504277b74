"""Reads that may lag come from a real streaming replica when READ_DATABASE_URL names one
(`scripts/services.sh start-replica`), and everything else goes to the primary: writes,
and the reads that decide who may do what (a session, an MDS client).

The proof that a read came from the replica: its replay is paused, a vehicle is added on
the primary, and the API does not show it until replay resumes."""

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from rental.app import create_app
from rental.bootstrap import Platform, libpq_url, utc_now
from rental.config import Config
from tests.conftest import new_lock_id
from tests.helpers import (
    RIDER_PASSWORD,
    eventually,
    make_bike,
    make_city,
    make_user,
    rate_limit_settings,
)

ROOT = Path(__file__).resolve().parents[2]
CITY = "replicacity"
HERE = (121.47, 31.23)
NEARBY = f"/api/v1/vehicles/nearby?lon={HERE[0]}&lat={HERE[1]}&radius_m=500"


def _project_cluster(database_url: str) -> bool:
    url = make_url(database_url)
    port = int(os.environ.get("RENTAL_PG_PORT", "55432"))
    return url.host in ("127.0.0.1", "localhost") and url.port == port


@pytest.fixture(scope="module")
def replica_url(database_url: str) -> Iterator[str]:
    """The test database on a replica of the project-local cluster: started for this
    module, and stopped after it unless it was running before."""
    if not _project_cluster(database_url):
        pytest.skip("the replica is made of the project-local PostgreSQL (scripts/services.sh)")
    script = str(ROOT / "scripts" / "services.sh")
    started = subprocess.run(
        [script, "start-replica"], check=True, capture_output=True, text=True, timeout=900
    )
    found = re.search(r"READ_DATABASE_URL=(\S+)", started.stdout)
    assert found, started.stdout + started.stderr
    replica = make_url(found.group(1)).set(database=make_url(database_url).database)
    was_copied = "copying PostgreSQL" in started.stderr
    yield replica.render_as_string(hide_password=False)
    if was_copied:
        subprocess.run([script, "stop-replica"], check=True, timeout=120)


def replay(replica_url: str, action: str) -> None:
    """Pauses or resumes the replica's replay of the primary's WAL."""
    with psycopg.connect(libpq_url(replica_url), autocommit=True) as connection:
        connection.execute(f"SELECT pg_wal_replay_{action}()")


@pytest.fixture
def app(database_url, replica_url, platform):
    make_city(platform, CITY)
    config = Config(
        DATABASE_URL=database_url,
        READ_DATABASE_URL=replica_url,
        SECRET_KEY="test-secret",
        LOCK_KEY_ENCRYPTION_KEYS=platform.config.LOCK_KEY_ENCRYPTION_KEYS,
        VEHICLE_STATUS_TTL_SECONDS=0,
        VALIDATE_RESPONSES=1,
        **rate_limit_settings(),
    )
    served = Platform(config)
    yield create_app(platform=served).test_client()
    replay(replica_url, "resume")  # whatever the test did
    served.dispose()


def parked_bike(platform):
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=CITY)
    with platform.uow() as uow:
        uow.locks.record_seen(lock_id, utc_now(), battery_pct=90, lon=HERE[0], lat=HERE[1])
        uow.commit()
    return asset


def nearby(client) -> set[str]:
    answer = client.get(NEARBY)
    assert answer.status_code == 200, answer.data
    return {vehicle["code"] for vehicle in answer.get_json()["vehicles"]}


def gbfs_count(client) -> int:
    answer = client.get(f"/gbfs/v3/{CITY}/vehicle_status.json")
    assert answer.status_code == 200, answer.data
    return len(answer.get_json()["data"]["vehicles"])


def test_reads_that_may_lag_come_from_the_replica_and_writes_from_the_primary(
    app, platform, replica_url
):
    first = parked_bike(platform)
    eventually(lambda: first.code in nearby(app), timeout=30, what="the replica to catch up")
    assert gbfs_count(app) == 1
    replay(replica_url, "pause")

    second, third = parked_bike(platform), parked_bike(platform)  # not on the paused replica
    rider = make_user(platform, credit_minor=1000)
    signed_in = app.post(
        "/api/v1/auth/token", json={"phone": rider.phone, "password": RIDER_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.data  # a write: a new session
    token = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}
    hold = {"code": third.code, "idempotency_key": uuid.uuid4().hex}
    held = app.post("/api/v1/reservations", json=hold, headers=token)

    # The session was checked on the primary (the replica has never seen it), and the
    # hold was written there: the paused replica could take no write at all.
    assert held.status_code == 201, held.data
    with platform.uow() as uow:
        assert uow.reservations.held_by_rider(rider.id) is not None
    # Searches come from the replica: what the primary has now is not there yet. GBFS
    # vehicle_status is rendered on the primary, from the rows it keeps of each vehicle.
    assert nearby(app) == {first.code}
    assert gbfs_count(app) == 3

    replay(replica_url, "resume")
    eventually(lambda: nearby(app) == {first.code, second.code}, timeout=30, what="replay")
    assert gbfs_count(app) == 3  # the held one too, as reserved
