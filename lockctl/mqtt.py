"""A small MQTT v5 client over paho-mqtt; paho types never leave this module.

Everything above it speaks `Message` and plain callables, so the rest of the code
(and its tests) never depend on paho's callback signatures.
"""

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

# Long enough to notice a dead peer soon (the broker sends the Will after 1.5x),
# short enough not to flood the broker with pings from a large fleet.
KEEPALIVE_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10.0
ACK_TIMEOUT_SECONDS = 10.0
# MQTT v5 reason code "Disconnect with Will Message": the broker publishes the Will.
DISCONNECT_WITH_WILL = 0x04


class MqttError(Exception):
    """Talking to the broker failed."""


class MqttCodeError(MqttError):
    """The broker answered with a failure reason code."""

    def __init__(self, action: str, reason: int) -> None:
        super().__init__(f"{action} failed with MQTT reason code {reason:#04x}")
        self.reason = reason


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "BrokerAddress":
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"MQTT_URL must look like mqtt://user:password@host:port, not {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def with_credentials(self, username: str, password: str) -> "BrokerAddress":
        return BrokerAddress(self.host, self.port, username, password)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0
    mid: int = 0  # the packet id to acknowledge when the client acknowledges manually

    @classmethod
    def _from_paho_message(cls, message: paho.MQTTMessage) -> "Message":
        return cls(
            message.topic, bytes(message.payload), bool(message.retain), message.qos, message.mid
        )


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class MqttClient:
    """One connection, with paho's network loop on its own thread.

    Subscriptions are remembered and renewed after a reconnect; handlers run on
    the network thread, so they must be quick or hand work over.
    """

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str | None = None,
        *,
        on_message: Callable[[Message], None] | None = None,
        on_connect: Callable[[], None] | None = None,
        will: Will | None = None,
        clean_start: bool = True,
        session_expiry_seconds: int = 0,
        manual_ack: bool = False,
    ) -> None:
        self.client_id = client_id or f"rental-{uuid.uuid4().hex[:12]}"
        self._address = address
        self._on_message = on_message
        self._on_connect_hook = on_connect
        self._clean_start = clean_start
        self._session_expiry = session_expiry_seconds
        self._subscriptions: list[tuple[str, int]] = []
        self._connected = threading.Event()
        self._connack = threading.Event()
        self._connect_failure: int | None = None
        self._acks: dict[int, tuple[threading.Event, list[int]]] = {}
        self._acks_lock = threading.Lock()
        self._client = self._build_client(will, manual_ack)

    def _build_client(self, will: Will | None, manual_ack: bool) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        if self._address.username is not None:
            client.username_pw_set(self._address.username, self._address.password)
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.on_socket_open = _set_tcp_nodelay
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_suback
        client.on_publish = self._handle_puback
        return client

    # -- lifecycle ---------------------------------------------------------------

    def connect(self, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        properties = Properties(PacketTypes.CONNECT)
        if self._session_expiry:
            properties.SessionExpiryInterval = self._session_expiry
        try:
            self._client.connect(
                self._address.host,
                self._address.port,
                keepalive=KEEPALIVE_SECONDS,
                clean_start=self._clean_start,
                properties=properties,
            )
        except OSError as exc:
            raise MqttError(
                f"cannot reach broker at {self._address.host}:{self._address.port}"
            ) from exc
        self._client.loop_start()
        answered = self._connack.wait(timeout)
        if self._connect_failure is not None or not answered:
            self._client.disconnect()
            self._client.loop_stop()
        if self._connect_failure is not None:
            raise MqttCodeError("connect", self._connect_failure)
        if not answered:
            raise MqttError("broker did not answer the connection in time")

    def disconnect(self, *, with_will: bool = False) -> None:
        reason = (
            ReasonCode(PacketTypes.DISCONNECT, identifier=DISCONNECT_WITH_WILL)
            if with_will
            else None
        )
        self._client.disconnect(reasoncode=reason)
        self._client.loop_stop()
        self._connected.clear()

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    # -- publishing and subscribing ---------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        *,
        retain: bool = False,
        expiry_seconds: int | None = None,
    ) -> int:
        """Queue a message; returns its packet id. Raises if not connected."""
        properties = None
        if expiry_seconds is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = max(1, expiry_seconds)
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise MqttError(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        return info.mid

    def publish_confirmed(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish at QoS 1 and wait for the broker's PUBACK; returns its reason code."""
        with self._acks_lock:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
            waiter = self._acks[info.mid] = (threading.Event(), [])
        return self._await_ack(info.mid, waiter, "publish")[0]

    def ack(self, message: Message) -> None:
        """With manual_ack, tell the broker a QoS 1 message is safely handled."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def subscribe(self, filters: list[tuple[str, int]]) -> list[int]:
        """Subscribe and wait for the SUBACK; returns one reason code per filter."""
        self._subscriptions.extend(filters)
        with self._acks_lock:
            result, mid = self._client.subscribe(filters)
            if result != paho.MQTT_ERR_SUCCESS:
                raise MqttError(f"subscribe failed: {paho.error_string(result)}")
            assert mid is not None
            waiter = self._acks[mid] = (threading.Event(), [])
        return self._await_ack(mid, waiter, "subscribe")

    def _await_ack(
        self, mid: int, waiter: tuple[threading.Event, list[int]], action: str
    ) -> list[int]:
        event, codes = waiter
        if not event.wait(ACK_TIMEOUT_SECONDS):
            with self._acks_lock:
                self._acks.pop(mid, None)
            raise MqttError(f"{action} was not acknowledged in time")
        return codes

    # -- paho callbacks (network thread) -----------------------------------------

    def _handle_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            self._connect_failure = reason.value
            log.warning("broker refused %s: %s", self.client_id, reason)
            self._connack.set()
            return
        if self._subscriptions:
            client.subscribe(list(self._subscriptions))
        self._connected.set()
        self._connack.set()
        if self._on_connect_hook is not None:
            self._on_connect_hook()

    def _handle_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._connected.clear()
        if reason.value != 0:
            log.info("%s disconnected: %s", self.client_id, reason)

    def _handle_message(
        self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage
    ) -> None:
        if self._on_message is None:
            return
        try:
            self._on_message(Message._from_paho_message(message))
        except Exception:
            log.exception("handler failed for a message on %s", message.topic)

    def _handle_suback(
        self, _client: paho.Client, _userdata: Any, mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        self._resolve(mid, [reason.value for reason in reasons])

    def _handle_puback(
        self, _client: paho.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        self._resolve(mid, [reason.value])

    def _resolve(self, mid: int, codes: list[int]) -> None:
        with self._acks_lock:
            waiter = self._acks.pop(mid, None)
        if waiter is not None:
            waiter[1].extend(codes)
            waiter[0].set()


def _set_tcp_nodelay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    # Without it a command round trip on loopback waits ~40 ms on delayed ACKs each way.
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
