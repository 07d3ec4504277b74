"""Locks reach the broker over TLS, trusting the CA that provisioning gave them: the real
broker's TLS listener, the operator API, lockctl and a simulated lock."""

import os
import uuid
from pathlib import Path

import pytest

from rental.adapters.locks.mqtt import BrokerAddress, MqttClient, MqttError
from tests.e2e.test_ride import ROUTE

PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


@pytest.fixture
def provisioned(system, broker_accounts):
    """A lock provisioned through the operator API: its answer, as the factory reads it."""
    operator = system.operator()
    lock_id = f"T-{uuid.uuid4().hex[:12]}"
    answer = system.post("/api/v1/ops/locks", {"lock_id": lock_id}, operator)
    assert answer.status_code == 201, answer.text
    yield answer.json()
    broker_accounts.delete_lock_account(lock_id)


def test_a_lock_connects_over_tls_with_the_ca_from_provisioning_and_rides(system):
    code, lock = system.bike()  # online where, and trusting what, provisioning said
    address = lock.secrets.broker(system.broker)
    assert (address.tls, address.port) == (
        True,
        BrokerAddress.from_url(lock.secrets.broker_url).port,
    )
    assert lock.secrets.broker_ca == Path(os.environ["LOCK_BROKER_CA_FILE"]).read_text()
    rider = system.rider(credit_minor=1000)

    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    lock.close()

    ended = system.wait_state(rider, rental_id, "ended")
    assert ended["fare"] == {"amount_minor": 150, "currency": "CNY"}
    assert system.balance(rider) == 850


def test_provisioning_gives_the_brokers_tls_address_and_its_ca(provisioned):
    broker = provisioned["mqtt"]["broker"]
    assert broker == os.environ["LOCK_BROKER_URL"]
    assert broker.startswith("mqtts://")
    assert provisioned["mqtt"]["ca"].startswith(PEM_CERTIFICATE)


def test_a_plain_connection_to_the_tls_listener_is_refused(provisioned):
    tls = BrokerAddress.from_url(provisioned["mqtt"]["broker"], ca_pem=provisioned["mqtt"]["ca"])
    lock_id, password = provisioned["lock_id"], provisioned["mqtt"]["password"]
    plain = BrokerAddress(tls.host, tls.port).with_credentials(lock_id, password)

    with pytest.raises(MqttError, match="did not answer"):
        MqttClient(plain, lock_id).connect(timeout=3)

    # The same lock, the same port, over TLS: accepted.
    client = MqttClient(tls.with_credentials(lock_id, password), lock_id)
    client.connect()
    client.disconnect()


def test_a_lock_that_does_not_trust_the_brokers_ca_cannot_connect(provisioned):
    # The system's CAs: none of them signed the broker's certificate.
    untrusting = BrokerAddress.from_url(provisioned["mqtt"]["broker"]).with_credentials(
        provisioned["lock_id"], provisioned["mqtt"]["password"]
    )

    with pytest.raises(MqttError, match=r"certificate .* was refused"):
        MqttClient(untrusting, provisioned["lock_id"]).connect(timeout=3)
