"""A small MQTT v5 client over paho-mqtt; paho types never leave this module.

Everything above it speaks `Message` and plain callables, so the rest of the code
(and its tests) never depend on paho's callback signatures.
"""

import logging
import random
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
# SUBACK reason codes from here up are refusals (0x80 unspecified, 0x87 not authorized...).
SUBACK_FAILURE = 0x80
# MQTT's registered ports, used when an address names none (docs/lock-protocol.md §1).
PLAIN_PORT = 1883
TLS_PORT = 8883
PLAIN_SCHEMES = ("mqtt", "tcp")
TLS_SCHEMES = ("mqtts", "ssl")

# Reconnect back-off of a lock (docs/lock-protocol.md §1). The first wait is spread over
# seconds so that the locks of a whole city, cut off by one broker restart, do not all
# come back in the same instant; then 1 s doubling, so a broker that stays down is not
# hammered; 60 s at most, so a lock is back within a minute of the broker; +-20 % on
# every wait so that locks which fell into step drift apart again.
FIRST_RECONNECT_SECONDS = (0.5, 5.0)
RECONNECT_BASE_SECONDS = 1.0
RECONNECT_CAP_SECONDS = 60.0
RECONNECT_JITTER = 0.2


class MqttError(Exception):
    """Talking to the broker failed."""


class MqttCodeError(MqttError):
    """The broker answered with a failure reason code."""

    def __init__(self, action: str, reason: int) -> None:
        super().__init__(f"{action} failed with MQTT reason code {reason:#04x}")
        self.reason = reason


@dataclass(frozen=True)
class BrokerAddress:
    """Where a client connects, as whom, and whether over TLS.

    `ca_pem`: the PEM certificates of the CAs the broker's certificate must chain to (with
    TLS); None trusts the system's CAs. The host name is always checked against the
    certificate."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_pem: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, *, ca_pem: str | None = None) -> "BrokerAddress":
        """`mqtt://user:password@host:port` (plain) or `mqtts://...` (TLS); ValueError for
        anything else. Without a port: 1883, or 8883 with TLS."""
        parts = urlsplit(url)
        if parts.scheme not in PLAIN_SCHEMES + TLS_SCHEMES or not parts.hostname:
            raise ValueError(
                f"a broker URL must look like mqtt(s)://user:password@host:port, not {url!r}"
            )
        tls = parts.scheme in TLS_SCHEMES
        return cls(
            host=parts.hostname,
            port=parts.port or (TLS_PORT if tls else PLAIN_PORT),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            ca_pem=ca_pem if tls else None,
        )

    @classmethod
    def from_settings(cls, url: str, ca_file: str = "") -> "BrokerAddress":
        """A process's own connection: MQTT_URL and, for mqtts://, MQTT_CA_FILE (empty: the
        system's CAs)."""
        return cls.from_url(url, ca_pem=read_ca_file(ca_file) if ca_file else None)

    def with_credentials(self, username: str, password: str) -> "BrokerAddress":
        return replace(self, username=username, password=password)

    def tls_context(self) -> ssl.SSLContext:
        """Verifies the broker's certificate against `ca_pem` (or the system's CAs) and
        its host name."""
        return ssl.create_default_context(cadata=self.ca_pem)


def read_ca_file(path: str) -> str:
    """The PEM text of a CA file; ValueError naming the file when it is unreadable or holds
    no certificate that OpenSSL accepts."""
    try:
        with open(path, encoding="ascii") as file:
            pem = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the CA file {path!r}: {exc}") from exc
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(f"{path!r} holds no PEM certificate: {exc}") from exc
    return pem


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


class ReconnectBackoff:
    """How long to wait before each attempt to reconnect, after a lost connection.

    The first attempt waits a random 0.5-5 s; the next ones 1 s, 2 s, 4 s... capped at
    60 s, each with +-20 % jitter (so at the cap, 48-72 s). `reset()` after a CONNACK.
    Pure: the random source is injected, so a seeded one makes it reproducible.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call is one more attempt."""
        self._attempt += 1
        if self._attempt == 1:
            return self._rng.uniform(*FIRST_RECONNECT_SECONDS)
        # Attempt 2 waits the base, then it doubles; the exponent is bounded so that a
        # lock that stays cut off for days does not build huge floats.
        doublings = min(self._attempt - 2, 32)
        nominal = min(RECONNECT_BASE_SECONDS * 2.0**doublings, RECONNECT_CAP_SECONDS)
        return nominal * self._rng.uniform(1 - RECONNECT_JITTER, 1 + RECONNECT_JITTER)

    def reset(self) -> None:
        self._attempt = 0


class MqttClient:
    """One connection, with paho's network loop on its own thread.

    Subscriptions are remembered and renewed after a reconnect; handlers run on
    the network thread, so they must be quick or hand work over.

    `subscriptions` are sent right after every CONNACK, and `on_connect` runs only once
    their SUBACK is in: a lock must listen to its commands before it says it is online.
    `on_disconnect` runs when a connection is gone (lost or closed).

    `redeliver_after_reconnect=False`: paho publishes again, after a reconnect, the QoS 1
    messages whose PUBACK had not come; a client that keeps its own outbox (a lock) turns
    that off, so that after a reconnect nothing goes out before what `on_connect` sends.

    `reconnect_backoff`: our waits between reconnect attempts instead of paho's (plain
    doubling from 1 s, no jitter).
    """

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str | None = None,
        *,
        on_message: Callable[[Message], None] | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        subscriptions: Sequence[tuple[str, int]] = (),
        will: Will | None = None,
        clean_start: bool = True,
        session_expiry_seconds: int = 0,
        manual_ack: bool = False,
        redeliver_after_reconnect: bool = True,
        reconnect_backoff: ReconnectBackoff | None = None,
    ) -> None:
        self.client_id = client_id or f"rental-{uuid.uuid4().hex[:12]}"
        self._address = address
        self._on_message = on_message
        self._on_connect_hook = on_connect
        self._on_disconnect_hook = on_disconnect
        self._clean_start = clean_start
        self._session_expiry = session_expiry_seconds
        self._redeliver = redeliver_after_reconnect
        self._backoff = reconnect_backoff
        self._subscriptions: list[tuple[str, int]] = list(subscriptions)
        # Packet id of the SUBSCRIBE sent at CONNACK: its SUBACK lets `on_connect` run.
        self._renewal_mid: int | None = None
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
        if self._address.tls:
            client.tls_set_context(self._address.tls_context())
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.on_socket_open = _set_tcp_nodelay
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
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
        except ssl.SSLCertVerificationError as exc:
            raise MqttError(
                f"the certificate of the broker at {self._address.host}:{self._address.port}"
                f" was refused: {exc.verify_message}"
            ) from exc
        except OSError as exc:  # ssl.SSLError included: a handshake that failed
            raise MqttError(
                f"cannot reach broker at {self._address.host}:{self._address.port}: {exc}"
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
        if self._backoff is not None:
            self._backoff.reset()
        if not self._redeliver:
            client.drop_out_messages()
        self._connected.set()
        self._connack.set()
        if self._subscriptions:
            # paho sends packets in order on one connection: these go before anything
            # the hook publishes, and the hook waits for their SUBACK anyway.
            result, mid = client.subscribe(list(self._subscriptions))
            if result == paho.MQTT_ERR_SUCCESS and mid is not None:
                self._renewal_mid = mid
                return
            log.warning("%s could not renew its subscriptions: %s", self.client_id, result)
        self._run_connect_hook()

    def _run_connect_hook(self) -> None:
        if self._on_connect_hook is None:
            return
        try:
            self._on_connect_hook()
        except Exception:
            log.exception("connect handler of %s failed", self.client_id)

    def _handle_disconnect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._connected.clear()
        self._renewal_mid = None
        if reason.value != 0:
            log.info("%s disconnected: %s", self.client_id, reason)
        self._schedule_reconnect(client)
        if self._on_disconnect_hook is not None:
            try:
                self._on_disconnect_hook()
            except Exception:
                log.exception("disconnect handler of %s failed", self.client_id)

    def _handle_connect_fail(self, client: paho.Client, _userdata: Any) -> None:
        self._schedule_reconnect(client)

    def _schedule_reconnect(self, client: paho.Client) -> None:
        """Set paho's next reconnect wait to ours.

        paho's loop calls on_disconnect or on_connect_fail right before each wait, and its
        wait (`_reconnect_wait`) starts from `min_delay` after `reconnect_delay_set`; with
        min = max it is exactly our delay."""
        if self._backoff is None:
            return
        delay = self._backoff.next_delay()
        # paho annotates int but only adds and compares: a fraction of a second works.
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]

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
        codes = [reason.value for reason in reasons]
        if mid != self._renewal_mid:
            self._resolve(mid, codes)
            return
        self._renewal_mid = None
        for (topic, _qos), code in zip(self._subscriptions, codes, strict=False):
            if code >= SUBACK_FAILURE:
                log.warning(
                    "broker refused %s a subscription to %s: %#04x", self.client_id, topic, code
                )
        self._run_connect_hook()

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
