import json

import pytest

from rental.adapters.locks.protocol import (
    Ack,
    Channel,
    Command,
    Event,
    EventType,
    LockTopic,
    Op,
    ProtocolError,
    Rejection,
    decode_ack,
    decode_command,
    decode_event,
    decode_telemetry,
    encode,
    encode_ack,
    encode_command,
    verify_command,
)

KEY = bytes(range(32))
# docs/lock-protocol.md §5.2: the acknowledgement of (boot 3, seq 42) to DEMO-L0001.
ACK_TEST_VECTOR = "b96604f0bc372509c418ecbc46bd24b10f3837aa54901d5303be141bb669984f"
NOW = 1_800_000_000_000


def command(**changes) -> Command:
    fields = dict(
        lock_id="L1",
        cmd_id="c-1",
        op=Op.UNLOCK,
        rental_id="r-1",
        issued_at=NOW,
        expires_at=NOW + 10_000,
    )
    return Command(**{**fields, **changes})


def test_topics_round_trip_and_refuse_wildcards():
    topic = LockTopic("L1", Channel.CMD)
    assert str(topic) == "lock/v1/L1/cmd"
    assert LockTopic.parse("lock/v1/L1/evt") == LockTopic("L1", Channel.EVT)
    with pytest.raises(ProtocolError):
        LockTopic.parse("lock/v1/+/evt")
    with pytest.raises(ProtocolError):
        LockTopic.parse("lock/v2/L1/evt")


def test_a_signed_command_verifies_with_the_locks_key():
    decoded, sig = decode_command("L1", encode_command(command(), KEY))
    assert decoded == command()
    assert verify_command(decoded, sig, KEY, NOW) is None


def test_a_command_signed_with_another_key_is_rejected():
    decoded, sig = decode_command("L1", encode_command(command(), b"x" * 32))
    assert verify_command(decoded, sig, KEY, NOW) is Rejection.BAD_SIGNATURE


def test_a_command_for_another_lock_does_not_verify():
    # The lock id is signed: a command captured for L2 cannot open L1.
    _, sig = decode_command("L2", encode_command(command(lock_id="L2"), KEY))
    assert verify_command(command(), sig, KEY, NOW) is Rejection.BAD_SIGNATURE


def test_a_tampered_field_breaks_the_signature():
    body = json.loads(encode_command(command(), KEY))
    body["expires_at"] += 60_000
    decoded, sig = decode_command("L1", json.dumps(body).encode())
    assert verify_command(decoded, sig, KEY, NOW) is Rejection.BAD_SIGNATURE


def test_expired_and_overlong_commands_are_rejected():
    expired = command(expires_at=NOW - 1)
    assert verify_command(expired, _sig(expired), KEY, NOW) is Rejection.EXPIRED
    eternal = command(expires_at=NOW + 3_600_000)
    assert verify_command(eternal, _sig(eternal), KEY, NOW) is Rejection.EXPIRED


def _sig(cmd: Command) -> str:
    return decode_command(cmd.lock_id, encode_command(cmd, KEY))[1]


def test_events_round_trip():
    event = Event(boot=3, seq=7, ts=NOW, type=EventType.LOCKED, lon=121.5, lat=31.2)
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"v": 2, "boot": 1, "seq": 1, "ts": 1, "type": "locked"}',
        b'{"v": 1, "boot": -1, "seq": 1, "ts": 1, "type": "locked"}',
        b'{"v": 1, "boot": 1, "seq": 1, "ts": 1, "type": "exploded"}',
        b'{"v": 1, "boot": 1, "seq": 1180591620717411303424, "ts": 1, "type": "locked"}',
        b'{"v": 1, "boot": 1.5, "seq": 1, "ts": 1, "type": "locked"}',
        b'{"v": 1, "boot": 1, "seq": 1, "ts": 1, "type": ["locked"]}',
        b'{"v": 1, "boot": 1, "seq": true, "ts": 1, "type": "locked"}',
        b"[" * 100_000,
        b'{"v": 1, "boot": 1, "seq": 1, "type": "fault", "reason": "' + b"x" * 5000 + b'"}',
    ],
)
def test_events_without_a_usable_identity_are_protocol_errors(payload):
    with pytest.raises(ProtocolError):
        decode_event(payload)


@pytest.mark.parametrize(
    ("fields", "dropped"),
    [
        ('"lon": "east", "lat": 31.2', {"lon", "lat"}),
        ('"lon": NaN, "lat": 31.2', {"lon", "lat"}),
        ('"lon": 121.4, "lat": Infinity', {"lon", "lat"}),
        ('"lon": 181, "lat": 31.2', {"lon", "lat"}),
        ('"lon": 121.4', {"lon"}),
        ('"reason": "' + "r" * 65 + '"', {"reason"}),
        ('"reason": "bell\\u0007"', {"reason"}),
        ('"slot": -3', {"slot"}),
        ('"item": 12', {"item"}),
    ],
)
def test_a_bad_field_is_dropped_with_its_reason_and_the_event_kept(fields, dropped):
    payload = f'{{"v": 1, "boot": 3, "seq": 7, "ts": {NOW}, "type": "locked", {fields}}}'
    event = decode_event(payload.encode())
    assert (event.boot, event.seq, event.ts, event.type) == (3, 7, NOW, EventType.LOCKED)
    assert {name for name, _ in event.dropped} == dropped
    for name in dropped:
        assert getattr(event, name) is None


@pytest.mark.parametrize("ts", ["1e30", "1", "-5", "4102444800001", '"soon"', "null"])
def test_an_unusable_lock_time_is_dropped_so_the_platform_uses_the_arrival(ts):
    event = decode_event(f'{{"v":1,"boot":1,"seq":2,"ts":{ts},"type":"locked"}}'.encode())
    assert event.ts is None
    assert "ts" in dict(event.dropped)


@pytest.mark.parametrize(
    ("fields", "kept", "dropped"),
    [
        ('"battery_pct": 101', {"lon": 121.4}, {"battery_pct"}),
        ('"battery_pct": 1000', {"lon": 121.4}, {"battery_pct"}),
        ('"battery_pct": 55.5', {"lon": 121.4}, {"battery_pct"}),
        ('"battery_pct": 100', {"battery_pct": 100}, set()),
        ('"accuracy_m": NaN', {"lon": None, "lat": None}, {"accuracy_m", "lon", "lat"}),
        ('"accuracy_m": -1', {"lon": None, "lat": None}, {"accuracy_m", "lon", "lat"}),
        ('"accuracy_m": 4.5', {"accuracy_m": 4.5, "lon": 121.4}, set()),
        (f'"latch_ts": {NOW + 1}', {"latch_ts": None}, {"latch_ts"}),
        (f'"latch_ts": {NOW - 5000}', {"latch_ts": NOW - 5000}, set()),
    ],
)
def test_telemetry_keeps_what_is_usable(fields, kept, dropped):
    payload = f'{{"v":1,"boot":1,"seq":9,"ts":{NOW},"lon":121.4,"lat":31.2,"locked":true,{fields}}}'
    report = decode_telemetry(payload.encode())
    assert report.locked is True
    assert {name for name, _ in report.dropped} == dropped
    for name, value in kept.items():
        assert getattr(report, name) == value


def test_a_telemetry_with_a_bad_position_still_reports_its_latch():
    report = decode_telemetry(
        f'{{"v":1,"boot":1,"seq":9,"ts":{NOW},"lon":NaN,"lat":NaN,"locked":true}}'.encode()
    )
    assert report.locked and not report.has_position


def test_an_ack_verifies_with_the_locks_key_and_not_another():
    payload = encode_ack(Ack("L1", 3, 17), KEY)
    assert decode_ack("L1", payload, KEY) == Ack("L1", 3, 17)
    with pytest.raises(ProtocolError):
        decode_ack("L1", payload, b"y" * 32)
    with pytest.raises(ProtocolError):
        decode_ack("L2", payload, KEY)  # the lock id is signed


def test_the_ack_signature_matches_the_known_answer_in_the_protocol_document():
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    ack = Ack("DEMO-L0001", 3, 42)
    assert ack.signing_input() == b"lock/v1\nDEMO-L0001\nack\n3\n42"
    assert json.loads(encode_ack(ack, key))["sig"] == ACK_TEST_VECTOR


def test_telemetry_needs_a_boolean_locked_flag():
    with pytest.raises(ProtocolError):
        decode_telemetry(b'{"v":1,"boot":1,"seq":1,"ts":1,"lon":1,"lat":1,"locked":"yes"}')


def test_the_signature_matches_the_known_answer_in_the_protocol_document():
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    documented = Command(
        "DEMO-L0001",
        "5f0c6a3e-8d2b-4f4e-9a51-2b7d1c0e9f10",
        Op.UNLOCK,
        "0ff51d51-6d23-4a5f-839e-48085780ce54",
        1795399372000,
        1795399382000,
    )
    assert documented.signing_input() == (
        b"lock/v1\nDEMO-L0001\n5f0c6a3e-8d2b-4f4e-9a51-2b7d1c0e9f10\nunlock\n"
        b"0ff51d51-6d23-4a5f-839e-48085780ce54\n1795399372000\n1795399382000"
    )
    body = json.loads(encode_command(documented, key))
    assert body["sig"] == "5759afae083af565d3349bf8d21d0a35ee4bb5eadc5e471261f59899cc4c92ce"


# docs/lock-protocol.md §4.4: a ring of DEMO-L0001, which belongs to no rental.
RING_TEST_VECTOR = "bfa1218d667afdefe65c88ec53742e0943850ef806092f78af490c9f42a2d5e6"


def test_a_ring_is_signed_like_an_unlock_with_no_rental_and_matches_the_document():
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    ring = Command(
        "DEMO-L0001", "3b1f5a2c-7e44-4c0d-9f61-8a2e5d7c4b90", Op.RING, "", 1795399372000,
        1795399382000,
    )  # fmt: skip
    assert ring.signing_input() == (
        b"lock/v1\nDEMO-L0001\n3b1f5a2c-7e44-4c0d-9f61-8a2e5d7c4b90\nring\n\n"
        b"1795399372000\n1795399382000"
    )
    body = json.loads(encode_command(ring, key))
    assert (body["op"], body["rental_id"], body["sig"]) == ("ring", "", RING_TEST_VECTOR)
    decoded, sig = decode_command("DEMO-L0001", encode_command(ring, key))
    assert decoded == ring and verify_command(decoded, sig, key, 1795399372500) is None


def test_a_ring_names_no_slot_and_an_unlock_cannot_be_bent_into_one():
    with pytest.raises(ProtocolError):
        command(op=Op.RING, rental_id="", slot=2)
    unlock = json.loads(encode_command(command(), KEY))
    bent = json.dumps({**unlock, "op": "ring"}).encode()
    decoded, sig = decode_command("L1", bent)
    assert verify_command(decoded, sig, KEY, NOW) is Rejection.BAD_SIGNATURE


def test_a_lock_hears_its_bell_rang_as_an_event_with_the_command_id():
    payload = encode(Event(3, 18, NOW, EventType.RANG, cmd_id="c-9"))
    assert decode_event(payload) == Event(3, 18, NOW, EventType.RANG, cmd_id="c-9")
