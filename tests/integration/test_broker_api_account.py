"""API workers' broker account: lock commands, acknowledgements and requests for lock
accounts, nothing else; the accounts themselves are made by lockctl's service, which makes
only locks' accounts. Checked against the real broker (MQTT_API_URL, as scripts/services.sh
makes it) and the service as lockctl runs it."""

import json
import os
import uuid

import pytest

from rental.adapters.locks.broker_accounts import CONTROL_TOPIC, RESPONSE_TOPIC
from rental.adapters.locks.mqtt import BrokerAddress, MqttClient, MqttCodeError, MqttError
from rental.adapters.locks.protocol import Channel, LockTopic
from rental.adapters.locks.provisioning import (
    REQUESTS_TOPIC,
    LockAccountRefused,
    LockAccountRequests,
    LockAccountService,
)
from tests.conftest import new_lock_id

NOT_AUTHORIZED = 0x87


def accepted(reason_code: int) -> bool:
    """MQTT v5: below 0x80 is success; 0x10 says only that nobody subscribes right now."""
    return reason_code < 0x80


@pytest.fixture
def api_account() -> BrokerAddress:
    url = os.environ.get("MQTT_API_URL")
    if not url:
        pytest.fail("MQTT_API_URL is not set: run the suite with `make test`")
    return BrokerAddress.from_settings(url, os.environ.get("MQTT_CA_FILE", ""))


@pytest.fixture
def api_worker(api_account):
    """An API worker's connection, with what provisioning uses on it."""
    holder: list[LockAccountRequests] = []
    client = MqttClient(
        api_account,
        f"rental-api-{uuid.uuid4().hex[:10]}",
        on_message=lambda message: holder[0].handle(message),
    )
    holder.append(LockAccountRequests(client))
    client.connect()
    yield client, holder[0]
    client.disconnect()


@pytest.fixture
def lock_accounts(broker):
    """lockctl's service for lock account requests, with the platform's account."""
    service = LockAccountService(broker, f"lockctl-test-{uuid.uuid4().hex[:8]}-accounts")
    service.start()
    yield service
    service.stop()


def test_an_api_worker_cannot_use_the_dynamic_security_api(broker, api_worker):
    client, _ = api_worker
    assert client.subscribe([(RESPONSE_TOPIC, 1)]) == [NOT_AUTHORIZED]
    assert client.subscribe([("$CONTROL/#", 1)]) == [NOT_AUTHORIZED]
    # Reading the platform's account or giving it a password of our choosing: refused
    # before the plugin sees the command.
    for command in (
        {"command": "getClient", "username": "platform"},
        {"command": "setClientPassword", "username": "platform", "password": "taken-over"},
        {"command": "addClientRole", "username": "api", "rolename": "admin"},
    ):
        payload = json.dumps({"commands": [command]}).encode()
        assert client.publish_confirmed(CONTROL_TOPIC, payload) == NOT_AUTHORIZED
    platform = MqttClient(broker)  # still connects with its own password
    platform.connect()
    platform.disconnect()


def test_an_api_worker_reads_no_lock_topics_nor_others_requests(api_worker):
    client, _ = api_worker
    lock_id = new_lock_id()
    for pattern in (
        "#",
        "lock/v1/#",
        "lock/v1/+/evt",
        str(LockTopic(lock_id, Channel.CMD)),
        str(LockTopic(lock_id, Channel.STATUS)),
        "$share/g/lock/v1/+/evt",
        REQUESTS_TOPIC,  # other workers' requests carry new locks' passwords
        f"$share/g/{REQUESTS_TOPIC}",
    ):
        assert client.subscribe([(pattern, 1)]) == [NOT_AUTHORIZED], pattern


def test_an_api_worker_sends_commands_and_acknowledgements_but_no_lock_reports(api_worker):
    client, _ = api_worker
    lock_id = new_lock_id()
    for channel in (Channel.CMD, Channel.ACK):
        assert accepted(client.publish_confirmed(str(LockTopic(lock_id, channel)), b"{}"))
    for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS):
        topic = str(LockTopic(lock_id, channel))
        assert client.publish_confirmed(topic, b"{}") == NOT_AUTHORIZED


def test_an_api_worker_gets_a_lock_account_through_lockctl(
    broker, api_worker, lock_accounts, lock_ids
):
    _, requests = api_worker
    lock_id, other = new_lock_id(), new_lock_id()
    lock_ids.append(lock_id)

    requests.create_lock_account(lock_id, "a lock's own password")

    lock = MqttClient(broker.with_credentials(lock_id, "a lock's own password"), lock_id)
    lock.connect()
    try:  # a lock's account, with a lock's rights
        assert lock.subscribe([(str(LockTopic(lock_id, Channel.CMD)), 1)]) == [1]
        assert lock.subscribe([(str(LockTopic(other, Channel.CMD)), 1)]) == [NOT_AUTHORIZED]
    finally:
        lock.disconnect()


def test_lockctl_refuses_an_account_that_is_not_a_locks(
    broker, broker_accounts, api_worker, lock_accounts
):
    _, requests = api_worker
    # Not a lock's account (here one with lockctl's role), under an id a lock could have.
    username = new_lock_id()
    broker_accounts.ensure_lockctl_account(username, "its own password")
    try:
        with pytest.raises(LockAccountRefused, match="not a lock's"):
            requests.create_lock_account(username, "a password of the asker's")
        # Unchanged: its password still works, the asker's does not.
        still = MqttClient(broker.with_credentials(username, "its own password"), username)
        still.connect()
        still.disconnect()
        with pytest.raises(MqttCodeError):
            asker = broker.with_credentials(username, "a password of the asker's")
            MqttClient(asker, username).connect(timeout=3)
    finally:
        broker_accounts.delete_lockctl_account(username)


def test_lockctl_ignores_a_request_whose_answer_would_go_elsewhere(
    api_worker, lock_accounts, broker_accounts, lock_ids
):
    client, requests = api_worker
    lock_id, after = new_lock_id(), new_lock_id()
    lock_ids.append(after)
    request = {
        "lock_id": lock_id,
        "password": "a lock's own password",
        # Any topic the platform's account may publish to: a lock's commands, say.
        "answer_to": str(LockTopic(new_lock_id(), Channel.CMD)),
        "tag": uuid.uuid4().hex,
    }
    assert accepted(client.publish_confirmed(REQUESTS_TOPIC, json.dumps(request).encode()))
    # Requests are applied in order: once the next one is done, that one was seen.
    requests.create_lock_account(after, "a lock's own password")

    [answer] = broker_accounts.run(
        [{"command": "getClient", "username": lock_id}], tolerate=("not found",)
    )
    assert answer.get("error") == "Client not found"


def test_asking_while_no_lockctl_listens_fails_at_once(api_worker):
    _, requests = api_worker
    with pytest.raises(MqttError, match="is lockctl running"):
        requests.create_lock_account(new_lock_id(), "a lock's own password")
