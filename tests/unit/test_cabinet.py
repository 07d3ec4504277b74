"""A cabinet's side of the protocol: signed releases of one slot, and items taken back."""

import json

import pytest

from rental.adapters.locks.mqtt import BrokerAddress
from rental.adapters.locks.protocol import (
    Command,
    EventType,
    Op,
    ProtocolError,
    decode_command,
    decode_event,
    encode,
    encode_command,
    verify_command,
)
from simulator.fleet import Fleet, load_fleet_file
from simulator.lock import VirtualLock

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
NOW = 1795399372000
DOCUMENTED = Command(
    "DEMO-C0001",
    "9d2e8c1a-4b7f-4e21-8a6d-3c5b9f0e7a12",
    Op.RELEASE,
    "0ff51d51-6d23-4a5f-839e-48085780ce54",
    NOW,
    NOW + 10_000,
    slot=3,
)


def cabinet() -> VirtualLock:
    return VirtualLock("DEMO-C0001", KEY, 121.47, 31.23, slots={1: "PB1", 2: None, 3: "PB3"})


def test_a_release_signs_its_slot_as_the_protocol_document_says():
    assert DOCUMENTED.signing_input().endswith(b"\n1795399382000\n3")
    body = json.loads(encode_command(DOCUMENTED, KEY))
    assert body["slot"] == 3
    assert body["sig"] == "2fbb8336faf533b2450235aa0da0ab43af986e2197421e564247c10cb1241ea5"


def test_a_release_bent_to_another_slot_fails_the_signature():
    body = json.loads(encode_command(DOCUMENTED, KEY))
    body["slot"] = 1
    command, sig = decode_command("DEMO-C0001", json.dumps(body).encode())
    assert verify_command(command, sig, KEY, NOW).value == "bad_signature"


def test_a_release_without_a_slot_or_an_unlock_with_one_is_malformed():
    with pytest.raises(ProtocolError):
        Command("C", "c", Op.RELEASE, "", NOW, NOW + 1, slot=None)
    with pytest.raises(ProtocolError):
        Command("C", "c", Op.UNLOCK, "", NOW, NOW + 1, slot=2)


def test_the_cabinet_releases_the_item_in_the_signed_slot():
    virtual = cabinet()
    [answer] = virtual.on_command(encode_command(DOCUMENTED, KEY), NOW)
    assert answer.event.type is EventType.RELEASED
    assert (answer.event.slot, answer.event.item) == (3, "PB3")
    assert virtual.slots == {1: "PB1", 2: None, 3: None}
    # Events carry slot and item on the wire.
    decoded = decode_event(encode(answer.event))
    assert (decoded.slot, decoded.item) == (3, "PB3")


def test_an_empty_slot_is_refused_and_a_bike_lock_refuses_releases():
    empty = Command("DEMO-C0001", "c-2", Op.RELEASE, "", NOW, NOW + 10_000, slot=2)
    [answer] = cabinet().on_command(encode_command(empty, KEY), NOW)
    assert answer.event.reason == "slot_empty"
    bike = VirtualLock("DEMO-C0001", KEY, 121.47, 31.23)
    [answer] = bike.on_command(encode_command(DOCUMENTED, KEY), NOW)
    assert answer.event.reason == "wrong_device"
    assert bike.locked


def test_an_item_pushed_in_goes_to_the_first_free_slot_and_is_reported():
    virtual = cabinet()
    event = virtual.take_back("PB9", NOW)
    assert (event.type, event.slot, event.item) == (EventType.RETURNED, 2, "PB9")
    with pytest.raises(ValueError):
        virtual.take_back("PB10", NOW)  # the cabinet is full


def test_the_simulated_fleet_keeps_cabinet_contents_across_restarts(tmp_path):
    fleet_file = tmp_path / "fleet.json"
    entry = {
        "lock_id": "DEMO-C0001",
        "mqtt_password": "pw",
        "signing_key": KEY.hex(),
        "lon": 121.47,
        "lat": 31.23,
        "slots": {"1": "PB1", "2": None},
    }
    fleet_file.write_text(json.dumps([entry]))
    broker = BrokerAddress("127.0.0.1", 1883)
    fleet = Fleet(broker, load_fleet_file(fleet_file), fleet_file=fleet_file)

    fleet.locks["DEMO-C0001"].take_back("PB7")  # offline: nothing is sent, the slot is kept

    [restarted] = load_fleet_file(fleet_file)
    assert restarted.slots == {1: "PB1", 2: "PB7"}
