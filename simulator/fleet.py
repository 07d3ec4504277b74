"""Virtual locks on the broker, each with its own credentials, birth message and Will."""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lockctl.mqtt import BrokerAddress, Message, MqttClient, Will
from lockctl.protocol import Channel, Event, LockTopic, Presence, encode
from simulator.lock import Answer, VirtualLock

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class LockSecrets:
    lock_id: str
    mqtt_password: str
    signing_key: bytes
    lon: float
    lat: float
    # A cabinet's slots and the item code in each; None for a bike lock.
    slots: dict[int, str | None] | None = None


def load_fleet_file(path: str | Path) -> list[LockSecrets]:
    return [
        LockSecrets(
            entry["lock_id"],
            entry["mqtt_password"],
            bytes.fromhex(entry["signing_key"]),
            float(entry["lon"]),
            float(entry["lat"]),
            _slots(entry.get("slots")),
        )
        for entry in json.loads(Path(path).read_text())
    ]


def _slots(raw: dict[str, str | None] | None) -> dict[int, str | None] | None:
    return None if raw is None else {int(number): item for number, item in raw.items()}


class SimulatedLock:
    """A VirtualLock with a connection; safe to drive from several threads."""

    def __init__(
        self,
        secrets: LockSecrets,
        broker: BrokerAddress,
        on_contents_changed: Callable[[], None] = lambda: None,
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
        )
        self.secrets = secrets
        # A cabinet's slots changed: the fleet keeps them, as firmware keeps them in flash.
        self._contents_changed = on_contents_changed
        self._broker = broker.with_credentials(secrets.lock_id, secrets.mqtt_password)
        self._guard = threading.RLock()
        self._ride: threading.Thread | None = None
        self._ride_stop = threading.Event()
        self._client: MqttClient | None = None

    @property
    def lock_id(self) -> str:
        return self.logic.lock_id

    def topic(self, channel: Channel) -> str:
        return str(LockTopic(self.lock_id, channel))

    @property
    def online(self) -> bool:
        return self._client is not None and self._client.is_connected

    def go_online(self) -> None:
        with self._guard:
            if self.online:
                return
            if self._client is not None:
                self.logic.reboot()  # a lock that comes back has rebooted: new boot, seq from 1
            will = Will(self.topic(Channel.STATUS), encode(self.logic.status(Presence.OFFLINE)))
            client = self._client = MqttClient(
                self._broker,
                f"sim-{self.lock_id}",
                on_message=self._on_message,
                on_connect=self._announce,
                will=will,
            )
        # Outside the guard, like go_offline: the network thread may need it meanwhile.
        client.connect()
        client.subscribe([(self.topic(Channel.CMD), 1)])

    def go_offline(self) -> None:
        """Drop off the network; the broker publishes the Will (status offline)."""
        with self._guard:
            self._ride_stop.set()
            client = self._client
        # Not under the guard: disconnecting waits for the network thread, which may be
        # waiting for the guard to hand over a command.
        if client is not None and client.is_connected:
            client.disconnect(with_will=True)

    def _announce(self) -> None:
        status = encode(self.logic.status(Presence.ONLINE, now_ms()))
        assert self._client is not None
        self._client.publish(self.topic(Channel.STATUS), status, qos=1, retain=True)
        self.report()

    def report(self) -> None:
        """Telemetry now: after connecting, after each event, and as the parked heartbeat."""
        with self._guard:
            telemetry = self.logic.telemetry(now_ms())
        client = self._client
        if client is not None and client.is_connected:
            client.publish(self.topic(Channel.TELEMETRY), encode(telemetry), qos=0)

    def _on_message(self, message: Message) -> None:
        with self._guard:
            answers = self.logic.on_command(message.payload, now_ms())
        for answer in answers:
            self._send_later(answer)
        if self.logic.slots is not None:
            self._contents_changed()

    def _send_later(self, answer: Answer) -> None:
        if answer.delay_ms <= 0:
            self._publish_event(answer.event)
            return
        timer = threading.Timer(answer.delay_ms / 1000, self._publish_event, [answer.event])
        timer.daemon = True
        timer.start()

    def _publish_event(self, event: Event) -> None:
        if self._client is None:
            return
        copies = 2 if self.logic.faults.duplicate_events else 1
        for _ in range(copies):
            self._client.publish(self.topic(Channel.EVT), encode(event), qos=1)
        self.report()

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
            if self._client is not None and self._client.is_connected:
                self._client.publish(self.topic(Channel.TELEMETRY), encode(report), qos=0)
            stop.wait(interval_s)

    def take_back(self, item: str, slot: int | None = None) -> int:
        """A rider returns an item into this cabinet; returns the slot it went into."""
        with self._guard:
            event = self.logic.take_back(item, now_ms(), slot)
        self._publish_event(event)
        self._contents_changed()
        assert event.slot is not None
        return event.slot

    def close(self) -> bool:
        self.wait_for_ride()
        with self._guard:
            event = self.logic.close(now_ms())
        if event is not None:
            self._publish_event(event)
        return event is not None


# The protocol's heartbeat while parked (docs/lock-protocol.md §6).
HEARTBEAT_SECONDS = 15 * 60
FIRST_HEARTBEAT_SECONDS = 5.0


class Fleet:
    def __init__(
        self,
        broker: BrokerAddress,
        locks: list[LockSecrets],
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        fleet_file: str | Path | None = None,
    ) -> None:
        """With `fleet_file`, cabinets' slots are written back to it, so a restart finds
        items where they were left (the platform's records agree only if cabinets do)."""
        self._fleet_file = Path(fleet_file) if fleet_file is not None else None
        self._saving = threading.Lock()
        self.locks = {
            secrets.lock_id: SimulatedLock(secrets, broker, self._save_contents)
            for secrets in locks
        }
        self._heartbeat_seconds = heartbeat_seconds
        self._stopping = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _save_contents(self) -> None:
        if self._fleet_file is None:
            return
        with self._saving:
            entries = json.loads(self._fleet_file.read_text())
            for entry in entries:
                lock = self.locks.get(entry["lock_id"])
                if lock is not None and lock.logic.slots is not None:
                    entry["slots"] = {str(n): item for n, item in lock.logic.slots.items()}
            self._fleet_file.write_text(json.dumps(entries, indent=1))

    def start(self) -> None:
        for lock in self.locks.values():
            lock.go_online()
        self._heartbeat.start()
        log.info("%d virtual locks online", len(self.locks))

    def stop(self) -> None:
        self._stopping.set()
        for lock in self.locks.values():
            lock.go_offline()

    def _beat(self) -> None:
        """Parked locks report position and battery; a lock taken offline stays silent.

        The first beat comes soon after start: reports sent while no consumer listened yet
        (telemetry is QoS 0) are gone, and the map should not wait a whole period."""
        delay = min(FIRST_HEARTBEAT_SECONDS, self._heartbeat_seconds)
        while not self._stopping.wait(delay):
            delay = self._heartbeat_seconds
            for lock in list(self.locks.values()):
                if lock.logic.locked:
                    lock.report()
