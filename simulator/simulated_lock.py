"""A virtual lock on the broker, doing what docs/lock-protocol.md asks of firmware (1.1).

Client id = lock id. Connecting: CONNECT (clean start, Will = offline status), SUBSCRIBE
to `cmd` and `ack` and wait for the SUBACK, then the retained `online` status, every
unacknowledged event of the outbox, oldest first, then one telemetry. While connected a
resender thread sends new events and resends unacknowledged ones on the outbox's
schedule; events made offline wait in the outbox for the next connection. After a lost
connection paho reconnects on its own, with our jittered back-off.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, assert_never

from rental.adapters.locks.mqtt import (
    BrokerAddress,
    Message,
    MqttClient,
    MqttError,
    ReconnectBackoff,
    Will,
)
from rental.adapters.locks.protocol import (
    Channel,
    Event,
    LockTopic,
    Presence,
    ProtocolError,
    Telemetry,
    encode,
)
from simulator.lock import VirtualLock
from simulator.outbox import FIRST_RESEND_MS, Outbox
from simulator.resender import Resender

log = logging.getLogger(__name__)

DEFAULT_RESEND_SECONDS = FIRST_RESEND_MS / 1000


def now_ms() -> int:
    return int(time.time() * 1000)


class Connection(Protocol):
    """What a simulated lock needs of its MQTT client (MqttClient; a fake in unit tests).

    It is built with MqttClient's keyword arguments: `on_message`, `on_connect` (runs
    after the SUBACK of `subscriptions`), `on_disconnect`, `subscriptions`, `will`,
    `redeliver_after_reconnect`, `reconnect_backoff`."""

    @property
    def is_connected(self) -> bool: ...

    def connect(self) -> None: ...

    def disconnect(self, *, with_will: bool = False) -> None: ...

    def publish(self, topic: str, payload: bytes, qos: int = 1, *, retain: bool = False) -> int: ...


@dataclass(frozen=True)
class LockSecrets:
    """What provisioning gave the lock (docs/lock-protocol.md §2), and where it stands."""

    lock_id: str
    mqtt_password: str
    signing_key: bytes
    lon: float
    lat: float
    # A cabinet's slots and the item code in each; None for a bike lock.
    slots: dict[int, str | None] | None = None
    # `mqtt.broker` and `mqtt.ca`: where the lock connects (mqtts://host:port) and the CA
    # its certificate must chain to. None: the simulator's own broker address.
    broker_url: str | None = None
    broker_ca: str | None = field(default=None, repr=False)

    def broker(self, fallback: BrokerAddress) -> BrokerAddress:
        """The address to connect to, with the lock's own credentials."""
        address = (
            BrokerAddress.from_url(self.broker_url, ca_pem=self.broker_ca)
            if self.broker_url
            else fallback
        )
        return address.with_credentials(self.lock_id, self.mqtt_password)


class SimulatedLock:
    """A VirtualLock with a connection; safe to drive from several threads."""

    def __init__(
        self,
        secrets: LockSecrets,
        broker: BrokerAddress,
        on_contents_changed: Callable[[], None] = lambda: None,
        *,
        resend_seconds: float = DEFAULT_RESEND_SECONDS,
        connection_factory: Callable[..., Connection] = MqttClient,
    ) -> None:
        # Firmware keeps its boot counter in flash; a simulator process starting over must
        # not reuse a boot number either, or its events would be taken for repeats.
        self.logic = VirtualLock(
            secrets.lock_id,
            secrets.signing_key,
            secrets.lon,
            secrets.lat,
            boot=now_ms(),
            slots=dict(secrets.slots) if secrets.slots is not None else None,
            outbox=Outbox(first_resend_ms=round(resend_seconds * 1000)),
        )
        self.secrets = secrets
        # A cabinet's slots changed: the fleet keeps them, as firmware keeps them in flash.
        self._contents_changed = on_contents_changed
        self._broker = secrets.broker(broker)
        self._connection_factory = connection_factory
        self._guard = threading.RLock()
        self._ride: threading.Thread | None = None
        self._ride_stop = threading.Event()
        self._client: Connection | None = None
        # Which connection is current: callbacks of a client replaced since are ignored.
        self._generation = 0
        self._ready = False  # subscribed and announced on the current connection
        self._resender: Resender | None = None

    @property
    def lock_id(self) -> str:
        return self.logic.lock_id

    def topic(self, channel: Channel) -> str:
        return str(LockTopic(self.lock_id, channel))

    @property
    def online(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def outbox_size(self) -> int:
        with self._guard:
            return len(self.logic.outbox)

    # -- connection -------------------------------------------------------------------

    def go_online(self) -> None:
        """Connect; a lock that was connected before comes back rebooted (new boot
        number, seq from 1; its outbox is kept). Raises MqttError if the broker cannot
        be reached or refuses the lock."""
        with self._guard:
            if self.online:
                return
            previous, self._client = self._client, None
        if previous is not None:
            # It may still be retrying on its own: two clients would fight for the id.
            previous.disconnect()
        with self._guard:
            if previous is not None:
                self.logic.reboot()
            self._generation += 1
            generation = self._generation
            client = self._client = self._connection_factory(
                self._broker,
                self.lock_id,  # the broker binds the lock's account to this client id
                on_message=self._on_message,
                on_connect=lambda: self._announce(generation),
                on_disconnect=lambda: self._lost(generation),
                subscriptions=[(self.topic(Channel.CMD), 1), (self.topic(Channel.ACK), 1)],
                will=Will(self.topic(Channel.STATUS), encode(self.logic.status(Presence.OFFLINE))),
                redeliver_after_reconnect=False,  # the outbox resends, in the protocol's order
                reconnect_backoff=ReconnectBackoff(),
            )
            if self._resender is None:
                self._resender = Resender(self._flush, f"resend-{self.lock_id}")
        # Outside the guard, like go_offline: the network thread may need it meanwhile.
        client.connect()

    def go_offline(self) -> None:
        """Drop off the network; the broker publishes the Will (status offline)."""
        with self._guard:
            self._ride_stop.set()
            client, resender = self._client, self._resender
            self._ready, self._resender = False, None
        # Not under the guard: disconnecting waits for the network thread, which may be
        # waiting for the guard to hand over a command.
        if resender is not None:
            resender.stop()
        if client is not None:
            client.disconnect(with_will=True)

    def _announce(self, generation: int) -> None:
        """After the SUBACK of a (re)connection: online, the outbox, then one fix (a fix
        saying `locked` must not overtake the `locked` event it follows)."""
        with self._guard:
            client = self._client
            if generation != self._generation or client is None:
                return
            now = now_ms()
            status = encode(self.logic.status(Presence.ONLINE, now))
            client.publish(self.topic(Channel.STATUS), status, qos=1, retain=True)
            self._send(client, self.logic.outbox.sendable(now), now)
            self._send_telemetry(client, self.logic.telemetry(now))
            self._ready = True
            resender = self._resender
        if resender is not None:
            resender.wake()

    def _lost(self, generation: int) -> None:
        with self._guard:
            if generation == self._generation:
                self._ready = False

    # -- sending ------------------------------------------------------------------------

    def _flush(self) -> float | None:
        """Send what is due now; returns the seconds until the next due event (None:
        nothing to wait for until something changes)."""
        with self._guard:
            client = self._client
            if not self._ready or client is None:
                return None
            now = now_ms()
            if self._send(client, self.logic.outbox.due(now), now):
                # A lock reports right after every event: a `locked: true` telemetry
                # ends a ride whose `locked` event got lost.
                self._send_telemetry(client, self.logic.telemetry(now))
            due = self.logic.outbox.next_due_ms()
        return None if due is None else max(0.0, (due - now_ms()) / 1000)

    def _send(self, client: Connection, events: list[Event], now: int) -> bool:
        """Publish events (unchanged, however often); True if one was new. Under the guard."""
        copies = 2 if self.logic.faults.duplicate_events else 1
        new = False
        for event in events:
            # Counted as a send even if the connection just went: the resend schedule
            # then holds, instead of the resender spinning until the disconnect is noticed.
            new = self.logic.outbox.sent(event, now) or new
            try:
                for _ in range(copies):
                    client.publish(self.topic(Channel.EVT), encode(event), qos=1)
            except MqttError as error:
                # The connection is gone (paho says so before its disconnect callback
                # runs): the rest waits for the next announcement.
                log.info("%s keeps its events for the next connection: %s", self.lock_id, error)
                self._ready = False
                break
        return new

    def _send_telemetry(self, client: Connection, telemetry: Telemetry) -> None:
        try:
            client.publish(self.topic(Channel.TELEMETRY), encode(telemetry), qos=0)
        except MqttError as error:  # QoS 0: a lost point costs a little trace, no more
            log.debug("%s lost a telemetry report: %s", self.lock_id, error)

    def _events_recorded(self) -> None:
        """New events are in the outbox: send them now if connected (else at the next
        connection), and let the resender plan around them. Under the guard."""
        self._flush()
        if self._resender is not None:
            self._resender.wake()

    def report(self) -> None:
        """Telemetry now: after connecting, after each event, and as the parked heartbeat.
        Offline, nothing is built or sent (telemetry is no event: it is not kept)."""
        with self._guard:
            client = self._client
            if self.logic.advance(now_ms()):  # a latch opened: its event goes first
                self._events_recorded()
            if self._ready and client is not None:
                self._send_telemetry(client, self.logic.telemetry(now_ms()))

    # -- messages from the platform ---------------------------------------------------

    def _on_message(self, message: Message) -> None:
        try:
            topic = LockTopic.parse(message.topic)
        except ProtocolError:
            return
        if topic.lock_id != self.lock_id:
            return
        match topic.channel:
            case Channel.ACK:
                with self._guard:
                    self.logic.on_ack(message.payload)
            case Channel.CMD:
                with self._guard:
                    self.logic.on_command(message.payload, now_ms())
                    self._events_recorded()
                    opens_at = self.logic.next_opening_ms()
                if opens_at is not None:  # a slow latch: its event when it has opened
                    delay = max(0.0, (opens_at - now_ms()) / 1000)
                    timer = threading.Timer(delay, self._latch_opened)
                    timer.daemon = True
                    timer.start()
                if self.logic.slots is not None:
                    self._contents_changed()
            case Channel.EVT | Channel.TELEMETRY | Channel.STATUS:
                return  # what locks publish: not for a lock to read
            case _:
                assert_never(topic.channel)

    def _latch_opened(self) -> None:
        with self._guard:
            self.logic.advance(now_ms())
            self._events_recorded()  # sent now, before the report that follows it
        self.report()  # a lock reports right after every event

    # -- what riders do -------------------------------------------------------------------

    def ride(self, points: list[tuple[float, float]], interval_s: float) -> None:
        """Report each point as telemetry, `interval_s` apart, in the background."""
        self._ride_stop.set()
        if self._ride is not None:
            self._ride.join()
        self._ride_stop = threading.Event()
        self._ride = threading.Thread(
            target=self._report_points, args=(points, interval_s, self._ride_stop), daemon=True
        )
        self._ride.start()

    def wait_for_ride(self, timeout: float = 30.0) -> None:
        if self._ride is not None:
            self._ride.join(timeout)

    def _report_points(
        self, points: list[tuple[float, float]], interval_s: float, stop: threading.Event
    ) -> None:
        for lon, lat in points:
            if stop.is_set():
                return
            with self._guard:
                report = self.logic.move_to(lon, lat, now_ms())
                client = self._client
                if self._ready and client is not None:
                    self._send_telemetry(client, report)
            stop.wait(interval_s)

    def take_back(self, item: str, slot: int | None = None) -> int:
        """A rider returns an item into this cabinet; returns the slot it went into.
        Offline, the cabinet still takes it: the event waits in the outbox."""
        with self._guard:
            event = self.logic.take_back(item, now_ms(), slot)
            self._events_recorded()
        self._contents_changed()
        assert event.slot is not None
        return event.slot

    def close(self) -> bool:
        """The rider shuts the latch; False if it was shut. Offline, the `locked` event
        waits in the outbox for the next connection."""
        self.wait_for_ride()
        with self._guard:
            event = self.logic.close(now_ms())
            if event is not None:
                self._events_recorded()
        return event is not None
