"""A simulated lock's side of the connection (protocol 1.1 §1-3), with a fake MQTT client:
client id, subscriptions before `online`, the order after each (re)connection, events
made offline, acks arriving as messages."""

import time
from collections.abc import Callable
from typing import Any

import pytest

from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttError, Will
from rental.adapters.locks.protocol import (
    Ack,
    Command,
    Event,
    EventType,
    Op,
    Presence,
    decode_event,
    decode_status,
    decode_telemetry,
    encode_ack,
    encode_command,
)
from simulator.lock import Faults
from simulator.simulated_lock import LockSecrets, SimulatedLock, now_ms

KEY = bytes(range(32))
SECRETS = LockSecrets("L1", "pw", KEY, 121.47, 31.23)


class FakeConnection:
    """Stands in for MqttClient: records what is published; the test plays the broker."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        on_message: Callable[[Message], None],
        on_connect: Callable[[], None],
        on_disconnect: Callable[[], None],
        subscriptions: list[tuple[str, int]],
        will: Will,
        **options: object,
    ) -> None:
        self.address, self.client_id = address, client_id
        self.on_message, self.on_connect, self.on_disconnect = on_message, on_connect, on_disconnect
        self.subscriptions, self.will, self.options = subscriptions, will, options
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.is_connected = False
        self.disconnected_with_will: bool | None = None

    def connect(self) -> None:
        self.is_connected = True  # CONNACK; the SUBACK comes when the test says so

    def subscribed(self) -> None:
        self.on_connect()

    def lose(self) -> None:
        self.is_connected = False
        self.on_disconnect()

    def reconnected(self) -> None:
        self.is_connected = True
        self.subscribed()

    def disconnect(self, *, with_will: bool = False) -> None:
        self.is_connected = False
        self.disconnected_with_will = with_will

    def publish(self, topic: str, payload: bytes, qos: int = 1, *, retain: bool = False) -> int:
        if not self.is_connected:
            raise MqttError("not connected")
        self.published.append((topic, payload, qos, retain))
        return len(self.published)

    def deliver(self, channel: str, payload: bytes) -> None:
        self.on_message(Message(f"lock/v1/L1/{channel}", payload, qos=1))

    def channels(self, since: int = 0) -> list[str]:
        return [topic.rsplit("/", 1)[1] for topic, *_ in self.published[since:]]

    def events(self, since: int = 0) -> list[Event]:
        return [decode_event(p) for t, p, *_ in self.published[since:] if t.endswith("/evt")]


@pytest.fixture
def connections() -> list[FakeConnection]:
    return []


def simulated(
    connections: list[FakeConnection], resend_seconds: float = 10.0, **faults: object
) -> SimulatedLock:
    def factory(address: BrokerAddress, client_id: str, **options: Any) -> FakeConnection:
        connections.append(FakeConnection(address, client_id, **options))
        return connections[-1]

    lock = SimulatedLock(
        SECRETS,
        BrokerAddress("127.0.0.1", 1883),
        resend_seconds=resend_seconds,
        connection_factory=factory,
    )
    lock.logic.faults = Faults(**faults)  # type: ignore[arg-type]
    return lock


def online(lock: SimulatedLock, connections: list[FakeConnection]) -> FakeConnection:
    lock.go_online()
    connections[-1].subscribed()
    return connections[-1]


def opened(lock: SimulatedLock) -> None:
    """As if a ride were under way: the next close makes a `locked` event."""
    lock.logic.locked = False


def ack(boot: int, seq: int, key: bytes = KEY) -> bytes:
    return encode_ack(Ack("L1", boot, seq), key)


def unlock() -> bytes:
    issued = now_ms()
    return encode_command(Command("L1", "c-1", Op.UNLOCK, "r-1", issued, issued + 10_000), KEY)


def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def test_the_client_id_is_the_lock_id_and_it_listens_to_cmd_and_ack(connections):
    lock = simulated(connections)
    lock.go_online()
    [connection] = connections
    assert connection.client_id == "L1"
    assert connection.address.username == "L1"
    assert connection.subscriptions == [("lock/v1/L1/cmd", 1), ("lock/v1/L1/ack", 1)]
    assert decode_status(connection.will.payload).state is Presence.OFFLINE
    assert connection.will.retain
    assert connection.options["redeliver_after_reconnect"] is False
    assert connection.options["reconnect_backoff"] is not None
    lock.go_offline()


def test_nothing_is_said_before_the_suback_then_online_the_outbox_and_one_fix(connections):
    lock = simulated(connections)
    assert lock.close() is False  # shut already: no event
    opened(lock)
    assert lock.close() is True  # made offline: kept
    assert lock.outbox_size == 1
    lock.go_online()
    [connection] = connections
    assert connection.published == []
    connection.subscribed()
    assert connection.channels() == ["status", "evt", "telemetry"]
    (_, status, _, retained), (_, fix, _, _) = connection.published[0], connection.published[2]
    assert decode_status(status).state is Presence.ONLINE and retained
    report = decode_telemetry(fix)
    assert report.has_position and report.locked and report.latch_ts is not None
    assert [event.type for event in connection.events()] == [EventType.LOCKED]
    assert lock.outbox_size == 1  # until the platform acks it
    lock.go_offline()


def test_an_ack_on_the_ack_topic_empties_the_outbox_and_a_forged_one_does_not(connections):
    lock = simulated(connections)
    opened(lock)
    connection = online(lock, connections)
    lock.close()
    [locked] = connection.events()
    connection.deliver("ack", ack(locked.boot, locked.seq, key=b"x" * 32))
    assert (lock.outbox_size, lock.logic.bad_acks) == (1, 1)
    connection.deliver("ack", ack(locked.boot, locked.seq))
    assert (lock.outbox_size, lock.logic.bad_acks) == (0, 1)
    lock.go_offline()


def test_a_lost_connection_resends_everything_after_online_then_a_fix_same_boot(connections):
    lock = simulated(connections)
    connection = online(lock, connections)
    opened(lock)
    lock.close()
    boot = lock.logic.boot
    connection.lose()
    opened(lock)
    lock.close()  # while the connection is down: kept, not sent
    assert lock.outbox_size == 2
    before = len(connection.published)
    connection.reconnected()
    assert connection.channels(before) == ["status", "evt", "evt", "telemetry"]
    first, second = connection.events(before)
    assert (first.boot, second.boot) == (boot, boot)
    assert first.seq < second.seq
    lock.go_offline()


def test_an_event_made_as_the_connection_breaks_is_kept_for_the_next_one(connections):
    lock = simulated(connections)
    connection = online(lock, connections)
    connection.is_connected = False  # gone, and paho has not called back yet
    opened(lock)
    assert lock.close() is True  # publishing fails: no exception, the outbox keeps it
    assert connection.events() == []
    assert lock.outbox_size == 1
    connection.lose()
    connection.reconnected()
    assert [event.type for event in connection.events()] == [EventType.LOCKED]
    lock.go_offline()


def test_coming_back_online_is_a_reboot_and_old_events_keep_their_pair(connections):
    lock = simulated(connections)
    opened(lock)
    lock.close()
    [old] = lock.logic.outbox.events()
    online(lock, connections)
    lock.go_offline()
    assert connections[0].disconnected_with_will is True
    connection = online(lock, connections)
    assert lock.logic.boot == old.boot + 1
    assert [(e.boot, e.seq) for e in connection.events()] == [(old.boot, old.seq)]
    lock.go_offline()


def test_a_command_is_answered_with_the_event_and_a_fix_and_duplicated_on_demand(connections):
    lock = simulated(connections, duplicate_events=True)
    connection = online(lock, connections)
    connection.deliver("cmd", unlock())
    assert connection.channels(2) == ["evt", "evt", "telemetry"]
    assert connection.published[2] == connection.published[3]  # the very same message
    assert connection.events()[0].type is EventType.UNLOCKED
    lock.go_offline()


def test_a_slow_latch_reports_the_unlock_only_once_it_opened(connections):
    lock = simulated(connections, unlock_delay_ms=150)
    connection = online(lock, connections)
    received_at = now_ms()
    connection.deliver("cmd", unlock())
    assert connection.channels() == ["status", "telemetry"]
    eventually(lambda: "evt" in connection.channels())
    assert now_ms() - received_at >= 150
    assert [event.type for event in connection.events()] == [EventType.UNLOCKED]
    lock.go_offline()


def test_unacknowledged_events_are_resent_until_the_ack_comes(connections):
    lock = simulated(connections, resend_seconds=0.1)
    opened(lock)
    connection = online(lock, connections)
    lock.close()
    eventually(lambda: len(connection.events()) >= 3)  # first send, 0.1 s and 0.3 s later
    sent = connection.events()
    assert len(set(sent)) == 1  # resent unchanged: same boot, seq and ts
    connection.deliver("ack", ack(sent[0].boot, sent[0].seq))
    settled = len(connection.events())
    time.sleep(0.5)
    assert len(connection.events()) == settled  # acknowledged: no more resends
    lock.go_offline()


def test_a_lock_dropping_acks_keeps_resending(connections):
    lock = simulated(connections, resend_seconds=0.05, drop_acks=True)
    opened(lock)
    connection = online(lock, connections)
    lock.close()
    [locked] = connection.events()
    connection.deliver("ack", ack(locked.boot, locked.seq))
    eventually(lambda: len(connection.events()) >= 3)
    assert lock.outbox_size == 1
    lock.go_offline()
