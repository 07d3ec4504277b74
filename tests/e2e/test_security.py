"""Riders see only their own data, roles hold, and locks obey only fresh signed commands."""

import json
import time
import uuid

from rental.adapters.locks.mqtt import MqttClient
from rental.adapters.locks.protocol import Channel, Command, LockTopic, Op, encode_command
from tests.helpers import eventually


def test_a_forged_command_does_not_open_the_lock(system):
    _, lock = system.bike()
    platform_client = MqttClient(system.broker)
    platform_client.connect()
    now = int(time.time() * 1000)
    forged = Command(lock.lock_id, str(uuid.uuid4()), Op.UNLOCK, "", now, now + 10_000)
    try:
        platform_client.publish(
            str(LockTopic(lock.lock_id, Channel.CMD)), encode_command(forged, b"not the key" * 3)
        )
        eventually(lambda: "bad_signature" in lock.logic.rejected, what="the lock to reject")
    finally:
        platform_client.disconnect()
    assert lock.logic.locked


def test_a_replayed_unlock_command_is_rejected(system):
    code, lock = system.bike()
    captured = []
    sniffer = MqttClient(system.broker, on_message=lambda message: captured.append(message.payload))
    sniffer.connect()
    sniffer.subscribe([(str(LockTopic(lock.lock_id, Channel.CMD)), 1)])
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    eventually(lambda: bool(captured), what="the command to be captured")

    sniffer.publish(str(LockTopic(lock.lock_id, Channel.CMD)), captured[0])
    eventually(lambda: "replayed" in lock.logic.rejected, what="the lock to reject the replay")
    sniffer.disconnect()
    assert lock.logic.locked
    assert json.loads(captured[0])["rental_id"] == rental_id


def test_riders_see_only_their_own_rentals(system):
    code, _ = system.bike()
    owner, stranger = system.rider(), system.rider()
    rental_id = system.scan(owner, code).json()["id"]
    assert system.get(f"/api/v1/rentals/{rental_id}", stranger).status_code == 404
    assert system.get(f"/api/v1/rentals/{rental_id}/trace", stranger).status_code == 404
    assert system.get("/api/v1/rentals", stranger).json()["rentals"] == []


def test_operator_endpoints_refuse_riders_and_strangers(system):
    rider = system.rider()
    assert system.post("/api/v1/ops/locks", {}, rider).status_code == 403
    assert system.get("/api/v1/ops/assets", rider).json()["error"]["code"] == "wrong_role"
    assert system.get("/api/v1/ops/assets").status_code == 401
    forged = type(rider)(rider.id, rider.token[:-2] + "xx")
    assert system.get("/api/v1/me", forged).json()["error"]["code"] == "invalid_token"


def test_the_operator_sees_the_fleet_with_qr_payloads_and_lock_state(system):
    code, lock = system.bike()
    lock.ride([(121.49, 31.24)], interval_s=0)
    lock.wait_for_ride()
    operator = system.operator()

    def positioned() -> bool:
        assets = system.get("/api/v1/ops/assets", operator).json()["assets"]
        return bool(assets) and assets[0]["lock"]["position"] == {"lon": 121.49, "lat": 31.24}

    eventually(positioned, what="the lock's position in the fleet view")
    [asset] = system.get("/api/v1/ops/assets", operator).json()["assets"]
    assert asset["code"] == code
    assert asset["qr"].endswith(f"/q/{code}")
    assert asset["lock"]["online"] is True
    assert asset["lock"]["locked"] is True
    assert asset["rental_state"] is None


def test_provisioning_answers_credentials_once_and_refuses_a_duplicate(system, broker_accounts):
    operator = system.operator()
    lock_id = f"T-{uuid.uuid4().hex[:12]}"
    first = system.post("/api/v1/ops/locks", {"lock_id": lock_id}, operator)
    assert first.status_code == 201
    assert len(bytes.fromhex(first.json()["signing_key"])) == 32
    again = system.post("/api/v1/ops/locks", {"lock_id": lock_id}, operator)
    assert again.status_code == 409
    assert "signing_key" not in again.text
    broker_accounts.delete_lock_account(lock_id)
