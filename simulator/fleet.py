"""A fleet of virtual locks on the broker, each with its own credentials, birth message
and Will; the fleet file they come from; and what holds across the fleet (an item is in
one slot of one cabinet at a time)."""

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from rental.adapters.locks.mqtt import BrokerAddress, MqttClient
from simulator.simulated_lock import (
    DEFAULT_RESEND_SECONDS,
    Connection,
    LockSecrets,
    SimulatedLock,
)

__all__ = ["HEARTBEAT_SECONDS", "Fleet", "LockSecrets", "SimulatedLock", "load_fleet_file"]

log = logging.getLogger(__name__)


def load_fleet_file(path: str | Path) -> list[LockSecrets]:
    return [
        LockSecrets(
            entry["lock_id"],
            entry["mqtt_password"],
            bytes.fromhex(entry["signing_key"]),
            float(entry["lon"]),
            float(entry["lat"]),
            _slots(entry.get("slots")),
            entry.get("broker"),
            entry.get("ca"),
        )
        for entry in json.loads(Path(path).read_text())
    ]


def _slots(raw: dict[str, str | None] | None) -> dict[int, str | None] | None:
    return None if raw is None else {int(number): item for number, item in raw.items()}


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
        *,
        resend_seconds: float = DEFAULT_RESEND_SECONDS,
        connection_factory: Callable[..., Connection] = MqttClient,
    ) -> None:
        """With `fleet_file`, cabinets' slots are written back to it, so a restart finds
        items where they were left (the platform's records agree only if cabinets do).
        `resend_seconds`: how long a lock waits for an ack before it first resends.
        `connection_factory`: the locks' MQTT client (a fake in unit tests)."""
        self._fleet_file = Path(fleet_file) if fleet_file is not None else None
        self._saving = threading.Lock()
        self._placing = threading.Lock()  # one return at a time: the check holds until done
        self.locks = {
            secrets.lock_id: SimulatedLock(
                secrets,
                broker,
                self._save_contents,
                resend_seconds=resend_seconds,
                connection_factory=connection_factory,
            )
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

    def where_is(self, item: str) -> tuple[str, int] | None:
        """The cabinet and slot holding `item`, if any cabinet of the fleet does."""
        for lock in self.locks.values():
            slots = dict(lock.logic.slots or {})
            for number, held in slots.items():
                if held == item:
                    return lock.lock_id, number
        return None

    def take_back(self, lock_id: str, item: str, slot: int | None = None) -> int:
        """A rider pushes `item` into cabinet `lock_id`; returns the slot it went into.

        Raises KeyError for an unknown lock, ValueError if the item already sits in a
        slot (of this cabinet or another: a tag cannot be in two places), if the lock is
        no cabinet, or if there is no such free slot."""
        lock = self.locks[lock_id]
        with self._placing:
            found = self.where_is(item)
            if found is not None:
                raise ValueError(f"item {item} is already in slot {found[1]} of {found[0]}")
            return lock.take_back(item, slot)

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
