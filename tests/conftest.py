"""Fixtures shared by every layer.

Integration and end-to-end tests run against the real PostgreSQL/PostGIS and
Mosquitto that `make test` starts (or DATABASE_URL / MQTT_URL), in a database of
their own (`<name>_test`, or TEST_DATABASE_URL).
"""

import os
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from rental.adapters.lock_keys import new_key
from rental.adapters.locks.broker_accounts import BrokerAccounts
from rental.adapters.locks.mqtt import BrokerAddress, MqttClient
from rental.adapters.migrations import ensure_postgis, upgrade
from rental.adapters.tables import metadata
from rental.bootstrap import Platform, libpq_url
from rental.config import Config
from rental.services.wallet import books
from tests.helpers import rate_limit_settings

# The test database is new each session, so any key seals its locks' signing keys; in the
# environment, so processes the tests start (lockctl, gunicorn) share it.
os.environ.setdefault("LOCK_KEY_ENCRYPTION_KEYS", new_key())


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`")
    return value


@pytest.fixture(scope="session")
def database_url() -> str:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        url = explicit
    else:
        base = make_url(_require("DATABASE_URL"))
        url = base.set(database=f"{base.database}_test").render_as_string(hide_password=False)
        name = make_url(url).database
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(libpq_url(admin), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    ensure_postgis(url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def broker() -> BrokerAddress:
    """The platform's account (it manages the broker's accounts and reads every lock topic)."""
    return BrokerAddress.from_settings(_require("MQTT_URL"), os.environ.get("MQTT_CA_FILE", ""))


@pytest.fixture(scope="session")
def platform(database_url: str, broker: BrokerAddress) -> Iterator[Platform]:
    config = Config(
        DATABASE_URL=database_url,
        # The API workers' own account, as in production: lock commands and lock account
        # requests only (the `broker` fixture is the platform's).
        MQTT_URL=_require("MQTT_API_URL"),
        MQTT_CA_FILE=os.environ.get("MQTT_CA_FILE", ""),
        # What provisioning hands locks: the broker's TLS listener and its CA.
        LOCK_BROKER_URL=_require("LOCK_BROKER_URL"),
        LOCK_BROKER_CA_FILE=os.environ.get("LOCK_BROKER_CA_FILE", ""),
        LOCK_KEY_ENCRYPTION_KEYS=os.environ["LOCK_KEY_ENCRYPTION_KEYS"],
        SECRET_KEY="test-secret",
        SMS_PROVIDER="sandbox",  # codes read back from the sandbox's page
        UNLOCK_TIMEOUT_SECONDS=2,
        VEHICLE_STATUS_TTL_SECONDS=0,  # tests look at the fleet as it is, not 10 s ago
        # Counted on every request, met only where a test sets low ones.
        **rate_limit_settings(),
        VALIDATE_RESPONSES=1,  # every answer checked against the model it declares
    )
    platform = Platform(config)
    yield platform
    platform.engine.dispose()
    platform.search_engine.dispose()


@pytest.fixture
def clean_database(platform: Platform) -> Iterator[None]:
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    for attempt in range(5):
        try:
            with platform.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} CASCADE"))
            break
        except OperationalError:
            # A report from the previous test's locks, still in flight, can deadlock with the
            # truncation (its foreign-key check locks `locks`); the database picks one to fail.
            if attempt == 4:
                raise
            time.sleep(0.2)
    yield
    # Every test leaves the books balanced and no wallet below the floor.
    report = books(platform.uow())
    assert report.balanced, report
    with platform.engine.connect() as connection:
        overdrawn = connection.execute(
            text(
                "SELECT count(*) FROM accounts WHERE kind = 'rider_wallet' AND balance_minor < :f"
            ),
            {"f": platform.config.WALLET_FLOOR_MINOR},
        ).scalar()
    assert overdrawn == 0


@pytest.fixture(scope="session")
def broker_accounts(broker: BrokerAddress) -> Iterator[BrokerAccounts]:
    holder: list[BrokerAccounts] = []
    client = MqttClient(broker, on_message=lambda message: holder[0].handle(message))
    client.connect()
    holder.append(BrokerAccounts(client))
    yield holder[0]
    client.disconnect()


@pytest.fixture
def lock_ids(broker_accounts: BrokerAccounts) -> Iterator[list[str]]:
    """Lock ids for this test; their broker accounts are removed afterwards."""
    ids: list[str] = []
    yield ids
    for lock_id in ids:
        broker_accounts.delete_lock_account(lock_id)


def new_lock_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"
