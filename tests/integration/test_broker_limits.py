"""The broker bounds how long a silent lock counts as connected, and how big a message is.

A lock that asks for no keepalive (0) would stay "online" forever once it goes silent:
the broker answers it with a server keepalive of 60 s (mosquitto.conf: max_keepalive),
and holds every client to its keepalive, publishing the Will of one gone silent. The first
is read from CONNACK; the second is shown with a keepalive of 1 s, so the test takes
seconds, not the 90 s and more a silent lock is given.
"""

import socket
import struct
import threading
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from rental.adapters.locks.mqtt import BrokerAddress, MqttClient
from rental.adapters.locks.protocol import Channel, LockTopic
from tests.conftest import new_lock_id

MAX_KEEPALIVE = 60
# Mosquitto 2.0.11 looks for clients past 1.5 x their keepalive once every 6 s (whole
# seconds): a lock asking for 0 is dropped 90 to 97 s after it fell silent.
KEEPALIVE_SWEEP_SECONDS = 6


@pytest.fixture
def lock(broker, broker_accounts, lock_ids):
    lock_id = new_lock_id()
    broker_accounts.create_lock_account(lock_id, "pw")
    lock_ids.append(lock_id)
    return lock_id, broker.with_credentials(lock_id, "pw")


def test_a_lock_asking_for_no_keepalive_is_given_sixty_seconds(lock):
    lock_id, address = lock
    answered = threading.Event()
    connack = {}

    def on_connect(_client, _userdata, _flags, reason, properties):
        connack["reason"] = reason.value
        connack["server_keepalive"] = getattr(properties, "ServerKeepAlive", None)
        answered.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=lock_id, protocol=paho.MQTTv5)
    client.username_pw_set(address.username, address.password)
    client.on_connect = on_connect
    client.connect(address.host, address.port, keepalive=0)
    client.loop_start()
    try:
        assert answered.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    assert connack == {"reason": 0, "server_keepalive": MAX_KEEPALIVE}


def test_a_lock_gone_silent_is_dropped_and_its_will_published(broker, lock):
    lock_id, address = lock
    status = str(LockTopic(lock_id, Channel.STATUS))
    wills = []
    watcher = MqttClient(broker, on_message=lambda message: wills.append(time.monotonic()))
    watcher.connect()
    watcher.subscribe([(status, 1)])
    keepalive = 1
    silent = socket.create_connection((address.host, address.port))
    try:
        silent.sendall(connect_packet(address, lock_id, keepalive, will=(status, b"offline")))
        assert silent.recv(4)[:1] == b"\x20"  # CONNACK; then the lock says nothing more
        connected = time.monotonic()
        deadline = connected + 1.5 * keepalive + KEEPALIVE_SWEEP_SECONDS + 2
        while not wills and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        silent.close()
        watcher.disconnect()
    assert wills, "the broker kept a silent lock connected"
    assert wills[0] - connected >= 1.5 * keepalive - 0.5  # by the keepalive, not sooner


def test_a_message_over_the_protocols_size_limit_is_dropped(broker, lock):
    lock_id, address = lock
    topic = str(LockTopic(lock_id, Channel.TELEMETRY))
    received = []
    watcher = MqttClient(broker, on_message=received.append)
    watcher.connect()
    watcher.subscribe([(topic, 0)])
    client = MqttClient(address, lock_id)
    client.connect()
    try:
        # QoS 0: at QoS 1 Mosquitto 2.0.11 answers "packet too large" (0x95) in the PUBACK,
        # a code MQTT v5 does not allow there, and paho drops the connection over it.
        client.publish(topic, b"x" * 4097, qos=0)
        client.publish(topic, b"x" * 4096, qos=0)
        deadline = time.monotonic() + 2
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        client.disconnect()
        watcher.disconnect()
    assert [len(message.payload) for message in received] == [4096]


def connect_packet(
    address: BrokerAddress, client_id: str, keepalive: int, will: tuple[str, bytes]
) -> bytes:
    """An MQTT v5 CONNECT: clean start, a QoS 1 Will, username and password."""
    flags = 0x80 | 0x40 | 0x08 | 0x04 | 0x02
    header = _string("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + b"\x00"
    assert address.username is not None and address.password is not None
    payload = (
        _string(client_id)
        + b"\x00"  # no Will properties
        + _string(will[0])
        + struct.pack("!H", len(will[1]))
        + will[1]
        + _string(address.username)
        + _string(address.password)
    )
    body = header + payload
    assert len(body) < 128  # one byte of remaining length
    return bytes([0x10, len(body)]) + body


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data
