"""A subscriber for telemetry: QoS 0 messages by the thousand a second on one connection.

paho-mqtt (`mqtt.py`) reads each packet a few bytes per system call and builds MQTT v5
property objects for every message: measured here, 50 to 90 µs of Python per message
received, which holds one connection near 10,000 messages a second on a whole core while
the broker drops the rest. gmqtt reads the socket through asyncio in large chunks: some
15 µs (docs/performance.md, "Telemetry ingest"). This client only subscribes, at QoS 0
on a clean session; gmqtt runs on an asyncio loop of the subscriber's own thread, and
its types never leave this module: the handler receives our `Message`, on that thread,
so it must be quick or hand work over (lockctl puts each message in a queue).
"""

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import UNLIMITED_RECONNECTS, MQTTv50
from gmqtt.mqtt.handler import MQTTConnectError

from rental.adapters.locks.mqtt import (
    ACK_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    KEEPALIVE_SECONDS,
    SUBACK_FAILURE,
    BrokerAddress,
    Message,
    MqttCodeError,
    MqttError,
)

log = logging.getLogger(__name__)

# After a lost connection, a new attempt every so often: telemetry missed meanwhile is
# gone (QoS 0), so sooner is better, but a broker that is down is not hammered.
RECONNECT_DELAY_SECONDS = 2


class TelemetrySubscriber:
    """One subscribing connection. `subscriptions` are made after every CONNACK (the
    session is clean: a reconnect starts with none); `connect()` returns once the first
    ones are granted."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        subscriptions: Sequence[tuple[str, int]],
        on_message: Callable[[Message], None],
    ) -> None:
        self.client_id = client_id
        self._address = address
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"mqtt-{client_id}", daemon=True
        )
        self._client: Any = None
        self._granted: Future[list[int]] = Future()

    def connect(self, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        """Raises MqttCodeError when the broker refuses the connection or a subscription,
        MqttError when it cannot be reached or does not answer in time."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(timeout)
            codes = self._granted.result(ACK_TIMEOUT_SECONDS)
        except MQTTConnectError as exc:
            self.disconnect()
            # gmqtt keeps the CONNACK's reason code only as a private attribute.
            raise MqttCodeError("connect", getattr(exc, "_code", SUBACK_FAILURE)) from exc
        except OSError as exc:
            self.disconnect()
            raise MqttError(f"cannot reach broker at {self._address.host}") from exc
        except TimeoutError as exc:
            self.disconnect()
            raise MqttError("broker did not answer the telemetry connection in time") from exc
        refused = [code for code in codes if code >= SUBACK_FAILURE]
        if refused:
            self.disconnect()
            raise MqttCodeError("subscribe", refused[0])

    def disconnect(self) -> None:
        if self._client is not None:
            stopping = asyncio.run_coroutine_threadsafe(self._client.disconnect(), self._loop)
            try:
                stopping.result(CONNECT_TIMEOUT_SECONDS)
            except Exception:  # already gone: nothing more to close
                log.debug("telemetry connection %s closed with an error", self.client_id)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=CONNECT_TIMEOUT_SECONDS)

    async def _connect(self) -> None:
        client = gmqtt.Client(self.client_id, clean_session=True, session_expiry_interval=0)
        if self._address.username is not None:
            client.set_auth_credentials(self._address.username, self._address.password)
        client.set_config(
            {"reconnect_retries": UNLIMITED_RECONNECTS, "reconnect_delay": RECONNECT_DELAY_SECONDS}
        )
        client.on_connect = self._subscribe
        client.on_subscribe = self._subscribed
        client.on_message = self._received
        self._client = client
        # mqtts://: verified against the CAs of MQTT_CA_FILE, as the paho connection is.
        tls = self._address.tls_context() if self._address.tls else False
        await client.connect(
            self._address.host,
            self._address.port,
            ssl=tls,
            keepalive=KEEPALIVE_SECONDS,
            version=MQTTv50,
        )

    # -- gmqtt callbacks (the loop's thread) ---------------------------------------

    def _subscribe(self, client: Any, _flags: int, _result: int, _properties: Any) -> None:
        # One SUBSCRIBE for all: one SUBACK answers them all.
        client.subscribe([gmqtt.Subscription(topic, qos=qos) for topic, qos in self._subscriptions])

    def _subscribed(self, _client: Any, _mid: int, codes: Sequence[int], _props: Any) -> None:
        if not self._granted.done():
            self._granted.set_result(list(codes))
        elif any(code >= SUBACK_FAILURE for code in codes):
            log.error("telemetry connection %s: a subscription was refused", self.client_id)

    def _received(
        self, _client: Any, topic: str, payload: bytes, qos: int, properties: dict[str, Any]
    ) -> int:
        try:
            self._on_message(Message(topic, payload, bool(properties.get("retain")), qos))
        except Exception:
            log.exception("handler failed for a message on %s", topic)
        return 0  # the reason code of a PUBACK, were the message QoS 1
