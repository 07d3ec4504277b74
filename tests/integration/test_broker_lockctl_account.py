"""Each lockctl instance connects with an account of its own, made at its start."""

import time
import uuid

import pytest

from rental.adapters.locks.broker_accounts import lockctl_username
from rental.adapters.locks.mqtt import MqttClient, MqttCodeError
from rental.adapters.locks.protocol import Channel, LockTopic
from rental.entrypoints.lock_consumer import own_account, shared_subscriptions
from tests.conftest import new_lock_id
from tests.helpers import eventually

NOT_AUTHORIZED = 0x87


@pytest.fixture
def instance(broker_accounts):
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    broker_accounts.delete_lockctl_account(lockctl_username(name))


@pytest.fixture
def lock(broker, broker_accounts, lock_ids):
    lock_id = new_lock_id()
    broker_accounts.create_lock_account(lock_id, "pw")
    lock_ids.append(lock_id)
    received = []
    client = MqttClient(broker.with_credentials(lock_id, "pw"), lock_id, on_message=received.append)
    client.connect()
    client.subscribe([(str(LockTopic(lock_id, Channel.ACK)), 1)])
    yield lock_id, client, received
    client.disconnect()


def test_lockctl_reads_lock_reports_through_its_share_group_and_acknowledges_them(
    broker, instance, lock
):
    lock_id, lock_client, acks = lock
    reports = []
    lockctl = MqttClient(
        own_account(broker, instance), lockctl_username(instance), on_message=reports.append
    )
    lockctl.connect()
    try:
        assert lockctl.subscribe(shared_subscriptions(f"group-{instance}")) == [1, 0, 1]
        event = str(LockTopic(lock_id, Channel.EVT))
        lock_client.publish_confirmed(event, b"{}")

        def mine() -> list[str]:
            # Retained statuses of other locks come along with the subscription: not ours.
            return [message.topic for message in reports if f"/{lock_id}/" in message.topic]

        eventually(lambda: mine() == [event], what="the event to arrive")

        ack = str(LockTopic(lock_id, Channel.ACK))
        assert lockctl.publish_confirmed(ack, b"{}") < 0x80
        eventually(lambda: [m.topic for m in acks] == [ack], what="the lock to get its ack")
    finally:
        lockctl.disconnect()


def test_lockctl_can_neither_forge_lock_reports_nor_manage_accounts(broker, instance, lock):
    lock_id, _, _ = lock
    lockctl = MqttClient(own_account(broker, instance), lockctl_username(instance))
    lockctl.connect()
    try:
        for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS):
            topic = str(LockTopic(lock_id, channel))
            assert lockctl.publish_confirmed(topic, b"{}") == NOT_AUTHORIZED
        assert lockctl.publish_confirmed("$CONTROL/dynamic-security/v1", b"{}") == NOT_AUTHORIZED
        # Only shared subscriptions to reports: not every copy, not commands or acks.
        for pattern in ("lock/v1/+/evt", "lock/v1/#", "$share/g/lock/v1/+/cmd", "$share/g/#"):
            assert lockctl.subscribe([(pattern, 1)]) == [NOT_AUTHORIZED]
    finally:
        lockctl.disconnect()


def test_each_start_of_lockctl_takes_a_new_password_and_its_own_client_id_only(broker, instance):
    first = own_account(broker, instance)
    second = own_account(broker, instance)
    assert first.password != second.password
    with pytest.raises(MqttCodeError):
        MqttClient(first, lockctl_username(instance)).connect(timeout=3)
    with pytest.raises(MqttCodeError) as refused:
        MqttClient(second, f"lockctl-other-{uuid.uuid4().hex[:6]}").connect(timeout=3)
    assert refused.value.reason == NOT_AUTHORIZED
    client = MqttClient(second, lockctl_username(instance))
    client.connect()
    time.sleep(0.1)
    assert client.is_connected
    client.disconnect()
