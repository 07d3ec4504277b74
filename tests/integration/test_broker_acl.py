"""Each lock may use only its own topics: checked against the real broker."""

import time

import pytest

from lockctl.mqtt import MqttClient, MqttCodeError
from lockctl.protocol import Channel, LockTopic
from tests.conftest import new_lock_id

NOT_AUTHORIZED = 0x87


def accepted(reason_code: int) -> bool:
    """MQTT v5: below 0x80 is success; 0x10 says only that nobody subscribes right now."""
    return reason_code < 0x80


@pytest.fixture
def two_locks(broker, broker_accounts, lock_ids):
    ids = [new_lock_id(), new_lock_id()]
    for lock_id in ids:
        broker_accounts.create_lock_account(lock_id, f"pw-{lock_id}")
        lock_ids.append(lock_id)
    clients = []
    for lock_id in ids:
        client = MqttClient(broker.with_credentials(lock_id, f"pw-{lock_id}"))
        client.connect()
        clients.append(client)
    yield ids, clients
    for client in clients:
        client.disconnect()


def test_a_lock_cannot_publish_on_another_locks_topics(broker, two_locks):
    (mine, theirs), (client, _) = two_locks
    received = []
    watcher = MqttClient(broker, on_message=lambda m: received.append(m.topic))
    watcher.connect()
    watcher.subscribe([("lock/v1/#", 1)])
    try:
        for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS):
            assert (
                client.publish_confirmed(str(LockTopic(theirs, channel)), b"{}") == NOT_AUTHORIZED
            )
            assert accepted(client.publish_confirmed(str(LockTopic(mine, channel)), b"{}"))
        # A lock must not be able to forge commands either, not even to itself.
        assert client.publish_confirmed(str(LockTopic(mine, Channel.CMD)), b"{}") == NOT_AUTHORIZED
        time.sleep(0.2)
    finally:
        watcher.disconnect()
    assert not [topic for topic in received if f"/{theirs}/" in topic or topic.endswith("/cmd")]
    assert len([topic for topic in received if f"/{mine}/" in topic]) == 3


def test_a_lock_can_read_only_its_own_commands(two_locks):
    (mine, theirs), (client, _) = two_locks
    assert client.subscribe([(str(LockTopic(mine, Channel.CMD)), 1)]) == [1]
    assert client.subscribe([(str(LockTopic(theirs, Channel.CMD)), 1)]) == [NOT_AUTHORIZED]
    assert client.subscribe([("lock/v1/+/cmd", 1)]) == [NOT_AUTHORIZED]
    assert client.subscribe([("lock/v1/+/evt", 1)]) == [NOT_AUTHORIZED]


def test_a_lock_with_a_wrong_password_cannot_connect(broker, two_locks):
    (mine, _), _ = two_locks
    with pytest.raises(MqttCodeError):
        MqttClient(broker.with_credentials(mine, "guessed")).connect(timeout=3)


def test_a_decommissioned_lock_can_no_longer_connect_and_leaves_no_status(broker, broker_accounts):
    lock_id = new_lock_id()
    broker_accounts.create_lock_account(lock_id, "pw")
    lock = MqttClient(broker.with_credentials(lock_id, "pw"))
    lock.connect()
    status = str(LockTopic(lock_id, Channel.STATUS))
    assert accepted(
        lock.publish_confirmed(status, b'{"v":1,"state":"online","boot":1}', retain=True)
    )
    lock.disconnect()
    broker_accounts.delete_lock_account(lock_id)
    with pytest.raises(MqttCodeError):
        MqttClient(broker.with_credentials(lock_id, "pw")).connect(timeout=3)

    retained = []
    watcher = MqttClient(broker, on_message=lambda message: retained.append(message))
    watcher.connect()
    watcher.subscribe([(status, 1)])
    time.sleep(0.3)
    watcher.disconnect()
    assert retained == []
