"""Locks' signing keys in the real database: sealed with LOCK_KEY_ENCRYPTION_KEYS, opened
for signing, sealed again under a new key by rotation, and sealed by migration 0018 when
they were stored raw."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from rental.adapters.db import UnitOfWork
from rental.adapters.lock_key_rotation import reseal_lock_keys
from rental.adapters.lock_keys import LockKeyError, LockKeyRing, is_sealed, new_key
from rental.adapters.locks.commands import wire_command
from rental.adapters.locks.protocol import EventType, encode_command
from rental.adapters.migrations import ensure_postgis, upgrade
from rental.adapters.tables import locks
from rental.bootstrap import libpq_url
from rental.services import assets
from rental.services.commands.assets import ProvisionLock
from rental.services.lock_commands import Unlock
from simulator.lock import VirtualLock
from tests.conftest import new_lock_id


class NoBroker:
    """Provisioning's broker port, for tests about the database only."""

    def create_lock_account(self, lock_id: str, password: str) -> None:
        pass


def stored_key(platform, lock_id: str) -> bytes:
    with platform.engine.connect() as connection:
        query = select(locks.c.signing_key).where(locks.c.id == lock_id)
        return bytes(connection.execute(query).scalar_one())


def provisioned(platform) -> tuple[str, bytes]:
    credentials = assets.provision_lock(platform.uow(), NoBroker(), ProvisionLock(new_lock_id()))
    return credentials.lock_id, bytes.fromhex(credentials.signing_key_hex)


def opens_with(platform, lock_id: str, keys: LockKeyRing) -> bytes:
    with UnitOfWork(platform.engine, lock_keys=keys) as uow:
        lock = uow.locks.get(lock_id)
    assert lock is not None
    return lock.signing_key


def test_the_database_holds_a_sealed_form_of_the_key_not_the_key(platform, clean_database):
    lock_id, key = provisioned(platform)

    stored = stored_key(platform, lock_id)
    assert is_sealed(stored)
    assert key not in stored and key.hex().encode() not in stored
    assert opens_with(platform, lock_id, platform.lock_keys) == key


def test_rotation_seals_under_the_new_key_and_the_lock_still_verifies_commands(
    platform, clean_database
):
    lock_id, key = provisioned(platform)
    before = stored_key(platform, lock_id)
    old, new = platform.config.LOCK_KEY_ENCRYPTION_KEYS, new_key()
    try:
        done = reseal_lock_keys(platform.engine, LockKeyRing.from_setting(f"{new},{old}"))

        assert (done.resealed, done.sealed) == (1, 0)
        assert stored_key(platform, lock_id) != before
        with pytest.raises(LockKeyError, match=f"opens the signing key of lock {lock_id}"):
            opens_with(platform, lock_id, LockKeyRing.from_setting(old))
        signing_key = opens_with(platform, lock_id, LockKeyRing.from_setting(new))
        now = datetime.now(UTC)
        unlock = Unlock(
            lock_id, signing_key, uuid.uuid4(), uuid.uuid4(), now, now + timedelta(seconds=10)
        )
        lock = VirtualLock(lock_id, key, 121.47, 31.23)  # the key the factory stored
        [answer] = lock.on_command(
            encode_command(wire_command(unlock), signing_key), int(time.time() * 1000)
        )
        assert answer.event.type is EventType.UNLOCKED
    finally:  # back under the key the rest of the session uses
        reseal_lock_keys(platform.engine, LockKeyRing.from_setting(f"{old},{new}"))


def test_rotation_seals_a_key_still_stored_raw(platform, clean_database):
    lock_id, key = provisioned(platform)
    with platform.engine.begin() as connection:
        connection.execute(update(locks).where(locks.c.id == lock_id).values(signing_key=key))
    with pytest.raises(LockKeyError, match="stored unsealed"):
        opens_with(platform, lock_id, platform.lock_keys)

    done = reseal_lock_keys(platform.engine, platform.lock_keys)

    assert (done.resealed, done.sealed) == (0, 1)
    assert opens_with(platform, lock_id, platform.lock_keys) == key


def test_without_keys_a_lock_can_be_neither_stored_nor_read(platform, clean_database):
    lock_id, _ = provisioned(platform)
    with pytest.raises(LockKeyError, match="LOCK_KEY_ENCRYPTION_KEYS is not set"):
        opens_with(platform, lock_id, LockKeyRing([]))


@pytest.fixture
def database_at_0016(database_url):
    """A database of its own at the revision before sealing."""
    base = make_url(database_url)
    name = f"{base.database}_keys_{uuid.uuid4().hex[:6]}"
    admin = libpq_url(base.set(database="postgres").render_as_string(hide_password=False))
    url = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        ensure_postgis(url)
        upgrade(url, "0016")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_migration_seals_raw_keys_and_will_not_run_without_a_key(database_at_0016, monkeypatch):
    raw = bytes(range(32))
    engine = create_engine(database_at_0016)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO locks (id, signing_key) VALUES ('OLD-L1', :key)"), {"key": raw}
            )
        monkeypatch.delenv("LOCK_KEY_ENCRYPTION_KEYS", raising=False)
        with pytest.raises(RuntimeError, match="LOCK_KEY_ENCRYPTION_KEYS is not set"):
            upgrade(database_at_0016)

        key = new_key()
        monkeypatch.setenv("LOCK_KEY_ENCRYPTION_KEYS", key)
        upgrade(database_at_0016)

        with UnitOfWork(engine, lock_keys=LockKeyRing([key])) as uow:
            lock = uow.locks.get("OLD-L1")
        assert lock is not None and lock.signing_key == raw
    finally:
        engine.dispose()
