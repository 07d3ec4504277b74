"""The simulator's control API over a fleet that never connects: offline locks keep
their events, an item is in one slot of the fleet at a time, and no input makes a 500."""

from dataclasses import fields
from typing import Any

import pytest

from rental.adapters.locks.mqtt import BrokerAddress
from rental.adapters.locks.protocol import Command, Op, encode_command
from simulator.control import FAULT_CHECKS, create_control_app
from simulator.fleet import Fleet, LockSecrets
from simulator.lock import Faults
from simulator.simulated_lock import now_ms
from tests.unit.test_simulator_connection import FakeConnection

KEY = bytes(range(32))
# Nothing listens on port 1 of loopback: a lock told to come online is refused at once.
NOWHERE = BrokerAddress("127.0.0.1", 1)


@pytest.fixture
def fleet():
    locks = [
        LockSecrets("B1", "pw", KEY, 121.47, 31.23),
        LockSecrets("C1", "pw", KEY, 121.47, 31.23, {1: "PB1", 2: None}),
        LockSecrets("C2", "pw", KEY, 121.48, 31.24, {1: None, 2: None}),
    ]
    fleet = Fleet(NOWHERE, locks)
    yield fleet
    fleet.stop()


@pytest.fixture
def client(fleet):
    app = create_control_app(fleet)
    app.config["TESTING"] = True  # an exception in a route fails the test with its traceback
    return app.test_client()


def test_closing_an_offline_lock_answers_200_and_keeps_the_event(client, fleet):
    fleet.locks["B1"].logic.locked = False  # a ride was under way when the network went
    answer = client.post("/locks/B1/close")
    assert answer.status_code == 200
    view = answer.get_json()
    assert (view["online"], view["locked"], view["outbox"]) == (False, True, 1)
    [event] = fleet.locks["B1"].logic.outbox.events()
    assert event.type.value == "locked"
    assert client.get("/locks/B1").get_json()["outbox"] == 1


def test_closing_a_lock_that_went_offline_answers_200_and_sends_the_event_on_return():
    connections: list[FakeConnection] = []

    def factory(address: BrokerAddress, client_id: str, **options: Any) -> FakeConnection:
        connections.append(FakeConnection(address, client_id, **options))
        return connections[-1]

    fleet = Fleet(
        NOWHERE, [LockSecrets("B1", "pw", KEY, 121.47, 31.23)], connection_factory=factory
    )
    client = create_control_app(fleet).test_client()
    assert client.post("/locks/B1/online").status_code == 200
    connections[0].subscribed()
    fleet.locks["B1"].logic.locked = False
    assert client.post("/locks/B1/offline").get_json()["online"] is False
    answer = client.post("/locks/B1/close")
    assert (answer.status_code, answer.get_json()["outbox"]) == (200, 1)
    assert connections[0].events() == []
    client.post("/locks/B1/online")
    connections[1].subscribed()
    assert [event.type.value for event in connections[1].events()] == ["locked"]
    fleet.stop()


def test_the_view_shows_the_outbox_and_refused_acks(client, fleet):
    fleet.locks["B1"].logic.on_ack(b'{"v":1,"boot":1,"seq":1,"sig":"00"}')
    view = client.get("/locks/B1").get_json()
    assert (view["outbox"], view["outbox_dropped"], view["bad_acks"]) == (0, 0, 1)
    listed = {lock["lock_id"]: lock for lock in client.get("/locks").get_json()["locks"]}
    assert listed["B1"]["bad_acks"] == 1


def test_an_item_already_in_a_slot_of_the_fleet_cannot_be_returned_again(client, fleet):
    elsewhere = client.post("/locks/C2/return", json={"item": "PB1"})
    assert elsewhere.status_code == 409
    assert elsewhere.get_json()["error"]["message"] == "item PB1 is already in slot 1 of C1"
    assert client.post("/locks/C1/return", json={"item": "PB1"}).status_code == 409
    assert fleet.locks["C2"].logic.slots == {1: None, 2: None}
    assert fleet.locks["C2"].logic.outbox.events() == []  # nothing reported

    first = client.post("/locks/C2/return", json={"item": "PB9", "slot": 2})
    assert first.status_code == 200
    assert first.get_json()["slots"] == {"1": None, "2": "PB9"}
    assert first.get_json()["outbox"] == 1  # offline: the `returned` event waits
    assert client.post("/locks/C1/return", json={"item": "PB9"}).status_code == 409


def test_a_released_item_can_be_returned_anywhere(client, fleet):
    issued = now_ms()
    release = Command("C1", "c-1", Op.RELEASE, "r-1", issued, issued + 10_000, slot=1)
    fleet.locks["C1"].logic.on_command(encode_command(release, KEY), issued)
    assert fleet.locks["C1"].logic.slots == {1: None, 2: None}
    answer = client.post("/locks/C2/return", json={"item": "PB1"})
    assert answer.status_code == 200
    assert answer.get_json()["slots"] == {"1": "PB1", "2": None}


def test_every_fault_has_a_check_and_drop_acks_can_be_set(client, fleet):
    assert set(FAULT_CHECKS) == {f.name for f in fields(Faults)}
    answer = client.post("/locks/B1/faults", json={"drop_acks": True, "unlock_delay_ms": 250})
    assert answer.status_code == 200
    assert fleet.locks["B1"].logic.faults == Faults(unlock_delay_ms=250, drop_acks=True)


def test_a_lock_that_cannot_reach_the_broker_answers_503(client):
    answer = client.post("/locks/B1/online")
    assert answer.status_code == 503
    assert "B1" in answer.get_json()["error"]["message"]
    assert client.post("/locks/B1/offline").status_code == 200


BAD_INPUT = [
    ("/locks/B1/ride", "not json"),
    ("/locks/B1/ride", "[1, 2]"),
    ("/locks/B1/ride", '"points"'),
    ("/locks/B1/ride", '{"points": []}'),
    ("/locks/B1/ride", '{"points": [[121.4, 31.2, 3]]}'),
    ("/locks/B1/ride", '{"points": [[true, false]]}'),
    ("/locks/B1/ride", '{"points": [[NaN, 31.2]]}'),
    ("/locks/B1/ride", '{"points": [[Infinity, 31.2]]}'),
    ("/locks/B1/ride", '{"points": [[400, 31.2]]}'),
    ("/locks/B1/ride", '{"points": [["121.4", "31.2"]]}'),
    ("/locks/B1/ride", '{"points": [[121.4, 31.2]], "interval_s": true}'),
    ("/locks/B1/ride", '{"points": [[121.4, 31.2]], "interval_s": NaN}'),
    ("/locks/B1/ride", '{"points": [[121.4, 31.2]], "interval_s": -1}'),
    ("/locks/C1/return", "{}"),
    ("/locks/C1/return", "[]"),
    ("/locks/C1/return", '[{"item": "PB5"}]'),
    ("/locks/C1/return", '{"item": 5}'),
    ("/locks/C1/return", '{"item": ""}'),
    ("/locks/C1/return", '{"item": "PB\\u0000"}'),
    ("/locks/C1/return", '{"item": "' + "P" * 65 + '"}'),
    ("/locks/C1/return", '{"item": "PB5", "slot": true}'),
    ("/locks/C1/return", '{"item": "PB5", "slot": "2"}'),
    ("/locks/C1/return", '{"item": "PB5", "slot": 0}'),
    ("/locks/C1/return", '{"item": "PB5", "slot": 1e309}'),
    ("/locks/B1/battery", "[]"),
    ("/locks/B1/battery", '{"battery_pct": true}'),
    ("/locks/B1/battery", '{"battery_pct": 101}'),
    ("/locks/B1/battery", '{"battery_pct": 50.5}'),
    ("/locks/B1/faults", "[1]"),
    ("/locks/B1/faults", '{"explode": true}'),
    ("/locks/B1/faults", '{"never_confirm": "yes"}'),
    ("/locks/B1/faults", '{"duplicate_events": 1}'),
    ("/locks/B1/faults", '{"drop_acks": null}'),
    ("/locks/B1/faults", '{"reject_with": 7}'),
    ("/locks/B1/faults", '{"reject_with": ""}'),
    ("/locks/B1/faults", '{"unlock_delay_ms": "300"}'),
    ("/locks/B1/faults", '{"unlock_delay_ms": -1}'),
    ("/locks/B1/faults", '{"unlock_delay_ms": 1e3}'),
    ("/locks/B1/faults", '{"unlock_delay_ms": 60001}'),
    ("/plans/p-1/drive", "[]"),
    ("/plans/p-1/drive", "{}"),
    ("/plans/p-1/drive", '{"api_url": "http://example.com", "token": "t"}'),
    ("/plans/p-1/drive", '{"api_url": 5, "token": "t"}'),
]


@pytest.mark.parametrize(("path", "raw"), BAD_INPUT)
def test_wrong_input_is_refused_with_400(client, fleet, path, raw):
    before = fleet.locks["B1"].logic.faults
    answer = client.post(path, data=raw, content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["message"]
    assert fleet.locks["B1"].logic.faults == before


@pytest.mark.parametrize(
    ("path", "raw", "status"),
    [
        ("/locks/NOPE", None, 404),
        ("/locks/NOPE/close", None, 404),
        ("/locks/NOPE/return", '{"item": "PB5"}', 404),
        ("/locks/B1/return", '{"item": "PB5"}', 409),  # a bike lock takes no items
        ("/locks/C1/return", '{"item": "PB5", "slot": 1}', 409),  # slot 1 is taken
        ("/locks/C1/return", '{"item": "PB5", "slot": 9}', 409),  # no slot 9
        ("/locks/B1/close", "not json", 200),  # no body needed: it is ignored
        ("/locks/B1/offline", None, 200),  # never online: nothing to do
        ("/locks/B1/faults", "null", 200),  # no change
        ("/locks/B1/battery", '{"battery_pct": 40}', 200),  # offline: kept, not reported
        ("/locks/B1/ride", '{"points": [[121.5, 31.25]], "interval_s": 0}', 200),
    ],
)
def test_other_answers_are_what_they_say(client, path, raw, status):
    if raw is None and path.count("/") == 2:
        answer = client.get(path)
    else:
        answer = client.post(path, data=raw, content_type="application/json")
    assert answer.status_code == status, answer.get_data(as_text=True)
