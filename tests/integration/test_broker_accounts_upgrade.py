"""`python -m rental broker-accounts upgrade` brings locks provisioned before protocol 1.1
up to date: bound to their lock id, allowed to read their acknowledgements."""

import uuid

import pytest
from sqlalchemy import insert

from rental.__main__ import main
from rental.adapters.locks.broker_accounts import lock_account_commands
from rental.adapters.locks.mqtt import MqttClient, MqttCodeError
from rental.adapters.locks.protocol import Channel, LockTopic
from rental.adapters.tables import locks
from tests.conftest import new_lock_id

NOT_AUTHORIZED = 0x87


def provision_as_before_1_1(broker_accounts, lock_id: str, password: str) -> None:
    """An account as lock provisioning made them: any client id, no acknowledgement topic."""
    ack = str(LockTopic(lock_id, Channel.ACK))
    commands = [
        {key: value for key, value in command.items() if key != "clientid"}
        for command in lock_account_commands(lock_id, password)
        if command.get("topic") != ack
    ]
    broker_accounts.run(commands)


@pytest.fixture
def known_locks(platform, clean_database):
    def add(*lock_ids: str) -> None:
        with platform.engine.begin() as connection:
            connection.execute(
                insert(locks), [{"id": lock_id, "signing_key": b"k" * 32} for lock_id in lock_ids]
            )

    return add


def upgrade(monkeypatch, database_url) -> int:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return main(["broker-accounts", "upgrade"])


def test_an_old_lock_account_is_bound_to_its_id_and_reads_its_acks(
    broker, broker_accounts, lock_ids, known_locks, monkeypatch, database_url, capsys
):
    old = new_lock_id()
    provision_as_before_1_1(broker_accounts, old, "pw")
    lock_ids.append(old)
    known_locks(old)
    address = broker.with_credentials(old, "pw")
    anyone = MqttClient(address, f"rental-{uuid.uuid4().hex[:12]}")
    anyone.connect()  # the hole: any client id will do
    anyone.disconnect()

    assert upgrade(monkeypatch, database_url) == 0
    assert "1 lock account(s): 1 upgraded, 0 already current, 0 missing" in capsys.readouterr().out

    with pytest.raises(MqttCodeError) as refused:
        MqttClient(address, f"rental-{uuid.uuid4().hex[:12]}").connect(timeout=3)
    assert refused.value.reason == NOT_AUTHORIZED
    lock = MqttClient(address, old)
    lock.connect()
    try:
        assert lock.subscribe([(str(LockTopic(old, Channel.ACK)), 1)]) == [1]
        assert lock.subscribe([(str(LockTopic(old, Channel.CMD)), 1)]) == [1]
    finally:
        lock.disconnect()


def test_upgrading_again_changes_nothing_and_names_locks_without_an_account(
    broker, broker_accounts, lock_ids, known_locks, monkeypatch, database_url, capsys
):
    current, missing = new_lock_id(), new_lock_id()
    broker_accounts.create_lock_account(current, "pw")
    lock_ids.append(current)
    known_locks(current, missing)
    connections = []
    lock = MqttClient(
        broker.with_credentials(current, "pw"), current, on_connect=lambda: connections.append(1)
    )
    lock.connect()
    try:
        assert upgrade(monkeypatch, database_url) == 1
        out, err = capsys.readouterr()
        assert "2 lock account(s): 0 upgraded, 1 already current, 1 missing" in out
        assert f"lock {missing} has no broker account" in err
        assert lock.is_connected and connections == [1]  # not pushed off for nothing
    finally:
        lock.disconnect()


def test_a_fleet_is_upgraded_in_messages_the_broker_accepts(
    broker, broker_accounts, lock_ids, known_locks, monkeypatch, database_url, capsys
):
    # Far more commands than fit in one 4096-byte message (mosquitto.conf:
    # message_size_limit), which the broker would drop without an answer.
    fleet = [new_lock_id() for _ in range(40)]
    for lock_id in fleet:
        provision_as_before_1_1(broker_accounts, lock_id, "pw")
    lock_ids.extend(fleet)
    known_locks(*fleet)

    assert upgrade(monkeypatch, database_url) == 0
    assert "40 lock account(s): 40 upgraded" in capsys.readouterr().out
    last = MqttClient(broker.with_credentials(fleet[-1], "pw"), fleet[-1])
    last.connect()
    try:
        assert last.subscribe([(str(LockTopic(fleet[-1], Channel.ACK)), 1)]) == [1]
    finally:
        last.disconnect()
