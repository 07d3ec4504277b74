"""Each lock may use only its own topics and its own client id: checked against the real broker."""

import time
import uuid

import pytest

from rental.adapters.locks.broker_accounts import BrokerAccountError
from rental.adapters.locks.mqtt import MqttClient, MqttCodeError
from rental.adapters.locks.protocol import Channel, LockTopic
from rental.services import assets
from rental.services.commands.assets import ProvisionLock
from tests.conftest import new_lock_id
from tests.helpers import eventually

NOT_AUTHORIZED = 0x87


def accepted(reason_code: int) -> bool:
    """MQTT v5: below 0x80 is success; 0x10 says only that nobody subscribes right now."""
    return reason_code < 0x80


@pytest.fixture
def new_lock(broker, broker_accounts, lock_ids):
    """Makes a lock account; returns its lock id and the address to connect with."""

    def make():
        lock_id = new_lock_id()
        broker_accounts.create_lock_account(lock_id, f"pw-{lock_id}")
        lock_ids.append(lock_id)
        return lock_id, broker.with_credentials(lock_id, f"pw-{lock_id}")

    return make


@pytest.fixture
def two_locks(new_lock):
    locks = [new_lock(), new_lock()]
    clients = [MqttClient(address, lock_id) for lock_id, address in locks]
    for client in clients:
        client.connect()
    yield [lock_id for lock_id, _ in locks], clients
    for client in clients:
        client.disconnect()


class Victim:
    """A connected client that counts its connections: one pushed off would reconnect."""

    def __init__(self, address, client_id):
        self.connections = 0
        self.client = MqttClient(address, client_id, on_connect=self._connected)
        self.client.connect()

    def _connected(self):
        self.connections += 1

    def still_on_its_first_connection(self) -> bool:
        return self.client.is_connected and self.connections == 1


@pytest.fixture
def lockctl_account(broker_accounts):
    username = f"lockctl-test-{uuid.uuid4().hex[:8]}"
    broker_accounts.ensure_lockctl_account(username, "pw")
    yield username
    broker_accounts.delete_lockctl_account(username)


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
        # A lock must not be able to forge commands or acknowledgements, not even to itself.
        for channel in (Channel.CMD, Channel.ACK):
            assert client.publish_confirmed(str(LockTopic(mine, channel)), b"{}") == NOT_AUTHORIZED
        time.sleep(0.2)
    finally:
        watcher.disconnect()
    assert not [topic for topic in received if f"/{theirs}/" in topic or topic.endswith("/cmd")]
    assert len([topic for topic in received if f"/{mine}/" in topic]) == 3


def test_a_lock_can_read_only_its_own_commands_and_acknowledgements(two_locks):
    (mine, theirs), (client, _) = two_locks
    assert client.subscribe([(str(LockTopic(mine, Channel.CMD)), 1)]) == [1]
    assert client.subscribe([(str(LockTopic(mine, Channel.ACK)), 1)]) == [1]
    assert client.subscribe([(str(LockTopic(theirs, Channel.CMD)), 1)]) == [NOT_AUTHORIZED]
    assert client.subscribe([(str(LockTopic(theirs, Channel.ACK)), 1)]) == [NOT_AUTHORIZED]
    for pattern in ("lock/v1/+/cmd", "lock/v1/+/ack", "lock/v1/+/evt", "$share/g/lock/v1/+/evt"):
        assert client.subscribe([(pattern, 1)]) == [NOT_AUTHORIZED]


def test_the_platform_can_acknowledge_events_to_any_lock(broker, new_lock):
    lock_id, address = new_lock()
    ack = str(LockTopic(lock_id, Channel.ACK))
    received = []
    lock = MqttClient(address, lock_id, on_message=received.append)
    platform = MqttClient(broker)
    lock.connect()
    platform.connect()
    try:
        assert lock.subscribe([(ack, 1)]) == [1]
        assert accepted(platform.publish_confirmed(ack, b'{"v":1,"boot":1,"seq":1}'))
        eventually(lambda: bool(received), what="the lock to receive its ack")
    finally:
        platform.disconnect()
        lock.disconnect()
    assert [message.topic for message in received] == [ack]


@pytest.mark.parametrize("taken", ["another lock's", "lockctl's", "a random"])
def test_a_lock_cannot_connect_with_anyone_elses_client_id(
    broker, new_lock, lockctl_account, taken
):
    (mine, my_address), (theirs, their_address) = new_lock(), new_lock()
    victims = {
        "another lock's": (their_address, theirs),
        "lockctl's": (broker.with_credentials(lockctl_account, "pw"), lockctl_account),
        "a random": (broker, f"rental-{uuid.uuid4().hex[:12]}"),
    }
    address, client_id = victims[taken]
    victim, me = Victim(address, client_id), Victim(my_address, mine)
    try:
        intruder = MqttClient(my_address, client_id)
        with pytest.raises(MqttCodeError) as refused:
            intruder.connect(timeout=3)
        assert refused.value.reason == NOT_AUTHORIZED
        # paho waits a second before connecting again: by now a victim pushed off is off.
        time.sleep(0.5)
        assert victim.still_on_its_first_connection()
        # Nor does the refusal cost the intruding account its own connection.
        assert me.still_on_its_first_connection()
    finally:
        victim.client.disconnect()
        me.client.disconnect()


def test_a_lock_with_a_wrong_password_cannot_connect(broker, two_locks):
    (mine, _), _ = two_locks
    with pytest.raises(MqttCodeError):
        MqttClient(broker.with_credentials(mine, "guessed"), mine).connect(timeout=3)


def test_a_lock_id_cannot_be_a_lockctl_client_id(broker_accounts):
    with pytest.raises(BrokerAccountError, match="reserved"):
        broker_accounts.create_lock_account("lockctl-demo", "pw")


def test_a_decommissioned_lock_can_no_longer_connect_and_leaves_no_status(broker, broker_accounts):
    lock_id = new_lock_id()
    broker_accounts.create_lock_account(lock_id, "pw")
    lock = MqttClient(broker.with_credentials(lock_id, "pw"), lock_id)
    lock.connect()
    status = str(LockTopic(lock_id, Channel.STATUS))
    assert accepted(
        lock.publish_confirmed(status, b'{"v":1,"state":"online","boot":1}', retain=True)
    )
    lock.disconnect()
    broker_accounts.delete_lock_account(lock_id)
    with pytest.raises(MqttCodeError):
        MqttClient(broker.with_credentials(lock_id, "pw"), lock_id).connect(timeout=3)

    retained = []
    watcher = MqttClient(broker, on_message=lambda message: retained.append(message))
    watcher.connect()
    watcher.subscribe([(status, 1)])
    time.sleep(0.3)
    watcher.disconnect()
    assert retained == []


def test_a_lock_account_left_without_its_lock_is_taken_over_by_the_next_provisioning(
    platform, broker, broker_accounts, lock_ids, clean_database
):
    lock_id = new_lock_id()
    lock_ids.append(lock_id)
    broker_accounts.create_lock_account(lock_id, "the orphan's password")  # no lock row

    issued = assets.provision_lock(platform.uow(), broker_accounts, ProvisionLock(lock_id))

    lock = MqttClient(broker.with_credentials(lock_id, issued.mqtt_password), lock_id)
    lock.connect()
    lock.disconnect()
    stale = MqttClient(broker.with_credentials(lock_id, "the orphan's password"), lock_id)
    with pytest.raises(MqttCodeError):
        stale.connect()
