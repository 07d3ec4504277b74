"""The lock link end to end (protocol 1.1): events acknowledged only once stored, messages
that can never be processed kept for operators, late unlocks and open latches handled."""

import json
import uuid

from rental.adapters.locks.mqtt import MqttClient
from rental.adapters.locks.protocol import Channel, LockTopic
from rental.bootstrap import utc_now
from rental.services.alerts import reconcile_latches
from rental.services.dead_letters import store_dead_letter
from tests.helpers import eventually, make_bike


def test_the_lock_forgets_an_event_once_the_platform_acknowledged_it(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    eventually(lambda: lock.outbox_size == 0, what="the unlock to be acknowledged")
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    eventually(lambda: lock.outbox_size == 0, what="the close to be acknowledged")
    assert lock.logic.bad_acks == 0


def test_a_close_made_offline_is_billed_at_its_own_time_after_the_lock_reconnects(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    assert lock.close()  # kept in the outbox
    closed_at = utc_now()
    ended = system.rental(rider, rental_id)
    assert ended["state"] == "active"
    lock.go_online()
    ended = system.wait_state(rider, rental_id, "ended")
    eventually(lambda: lock.outbox_size == 0, what="the close to be acknowledged")
    with system.platform.uow() as uow:
        stored = uow.rentals.get(uuid.UUID(rental_id))
    assert stored.ended_at is not None
    assert abs((stored.ended_at - closed_at).total_seconds()) < 1.0


def test_a_message_that_cannot_be_processed_is_kept_once_and_listed(system):
    _, lock = system.bike()
    operator = system.operator()
    lock.go_offline()  # its client id is the lock's: take its place
    system.wait_presence(lock.lock_id, online=False)
    raw = MqttClient(
        system.broker.with_credentials(lock.lock_id, lock.secrets.mqtt_password), lock.lock_id
    )
    raw.connect()
    garbage = b'{"v":1,"boot":"one","seq":1,"type":"locked"}'
    try:
        for _ in range(3):  # a lock resending what nobody acknowledged
            raw.publish(str(LockTopic(lock.lock_id, Channel.EVT)), garbage, qos=1)

        def listed() -> list[dict[str, object]]:
            answer = system.get("/api/v1/ops/dead-letters", operator)
            assert answer.status_code == 200, answer.text
            return [d for d in answer.json()["dead_letters"] if d["payload"] == garbage.decode()]

        eventually(lambda: bool(listed()), what="the dead letter")
        [letter] = listed()
        assert "boot" in str(letter["reason"])
        alerts = system.get("/api/v1/ops/alerts", operator).json()
        assert alerts["dead_letters_open"] >= 1
        replay = system.post(f"/api/v1/ops/dead-letters/{letter['id']}/replay", None, operator)
        assert replay.status_code == 409 and replay.json()["error"]["code"] == "replay_refused"
    finally:
        raw.disconnect()


def test_a_dead_letter_replays_once_its_cause_is_fixed(system):
    operator = system.operator()
    lock_id = f"T-{uuid.uuid4().hex[:12]}"
    event = {"v": 1, "boot": 1, "seq": 1, "ts": 1_800_000_000_000, "type": "fault"}
    payload = json.dumps({**event, "reason": "tilt"}).encode()
    topic = str(LockTopic(lock_id, Channel.EVT))
    letter_id = store_dead_letter(system.platform.uow(), topic, payload, "unknown lock", utc_now())
    refused = system.post(f"/api/v1/ops/dead-letters/{letter_id}/replay", None, operator)
    assert refused.status_code == 409, refused.text
    make_bike(system.platform, lock_id)  # the lock is registered after all
    replayed = system.post(f"/api/v1/ops/dead-letters/{letter_id}/replay", None, operator)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["replay_outcome"] == "processed"
    with system.platform.uow() as uow:
        assert uow.lock_log.event_exists(lock_id, 1, 1)
    again = system.post(f"/api/v1/ops/dead-letters/{letter_id}/replay", None, operator)
    assert again.json()["error"]["code"] == "already_replayed"
    assert system.get("/api/v1/ops/dead-letters?state=bogus", operator).status_code == 400
    assert system.get("/api/v1/ops/dead-letters", system.rider()).status_code == 403
    for past_bigint in (2**63, 10**30):  # no letter is numbered past a bigint
        beyond = system.post(f"/api/v1/ops/dead-letters/{past_bigint}/replay", None, operator)
        assert beyond.status_code == 400, beyond.text
        assert beyond.json()["error"]["field"] == "letter_id"


def test_a_bike_that_opens_after_the_timeout_is_the_riders_ride_and_never_offered(system):
    # The platform gives up after 2 s + grace; this latch takes 3 s to open.
    code, lock = system.bike(unlock_delay_ms=3000)
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.wait_state(rider, rental_id, "failed")["failure_reason"] == "timeout"
    adopted = system.wait_state(rider, rental_id, "active", timeout=10)
    assert adopted["late_unlock"] is True and adopted["notice"]
    nearby = system.get("/api/v1/vehicles/nearby?lon=121.47&lat=31.23&radius_m=500").json()
    assert code not in [vehicle["code"] for vehicle in nearby["vehicles"]]
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")
    assert ended["fare"]["amount_minor"] == 0  # locked again unused at once
    with system.platform.uow() as uow:
        stored = uow.rentals.get(uuid.UUID(rental_id))
    assert stored.duration_seconds is not None and stored.duration_seconds <= 3


def test_an_open_latch_nobody_rents_is_an_alert_for_operators(system):
    code, lock = system.bike()
    operator = system.operator()
    with system.platform.uow() as uow:
        uow.locks.record_latch(lock.lock_id, False, lock.logic.boot, 10_000, utc_now())
        uow.commit()
    reconcile_latches(system.platform.uow(), utc_now(), 0)
    listed = system.get("/api/v1/ops/alerts", operator).json()["alerts"]
    assert [(a["kind"], a["asset_code"]) for a in listed] == [("latch_open_without_rental", code)]
    fleet = system.get("/api/v1/ops/assets", operator).json()["assets"]
    assert [a["unavailable"] for a in fleet if a["code"] == code] == [["latch_open"]]
    rider = system.rider(credit_minor=1000)
    refused = system.scan(rider, code)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "latch_open"
