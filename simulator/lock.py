"""One lock's firmware logic, without I/O: commands and acks in, events and telemetry out.

It checks what docs/lock-protocol.md requires of real firmware (signature, expiry,
replay), keeps every event in its outbox until the platform's signed ack (protocol 1.1),
and can be told to misbehave the ways real locks do.
"""

import logging
from dataclasses import dataclass, field
from typing import assert_never

from rental.adapters.locks.protocol import (
    Command,
    Event,
    EventType,
    Op,
    Presence,
    ProtocolError,
    Rejection,
    Status,
    Telemetry,
    decode_ack,
    decode_command,
    verify_command,
)
from simulator.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class Faults:
    never_confirm: bool = False  # executes nothing and answers nothing
    reject_with: str | None = None  # answers every command with this rejection
    duplicate_events: bool = False  # every event is sent twice (as QoS 1 may deliver)
    unlock_delay_ms: int = 0  # how long the latch takes to open
    drop_acks: bool = False  # ignores the platform's acks, so every event is resent


@dataclass
class Answer:
    """An event the lock made in answer to a command (it is in the outbox already)."""

    event: Event


@dataclass
class VirtualLock:
    lock_id: str
    signing_key: bytes
    lon: float
    lat: float
    boot: int = 1
    battery_pct: int = 100
    locked: bool = True
    faults: Faults = field(default_factory=Faults)
    rejected: list[str] = field(default_factory=list)  # reasons, for tests and the control API
    # A cabinet's numbered slots and the item code in each (None: empty); None for a bike lock.
    slots: dict[int, str | None] | None = None
    # Non-volatile: it survives a reboot, and old events keep their old (boot, seq).
    outbox: Outbox = field(default_factory=Outbox)
    bad_acks: int = 0  # acks refused (bad signature or malformed), for the control API
    # Rings sounded, as (cmd_id, when in ms): only commands that verified get here.
    rings: list[tuple[str, int]] = field(default_factory=list)
    _seq: int = 0
    # When the latch reached its current state, by the lock's clock (telemetry's latch_ts).
    latch_changed_ms: int | None = None
    # Latches still opening (`unlock_delay_ms`): (opens at, cmd_id, slot, item). The event
    # is made, with its seq, when the latch has opened, so seq follows the order of sending.
    _openings: list[tuple[int, str, int | None, str | None]] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)  # cmd_id -> expires_at

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def reboot(self) -> None:
        self.boot += 1
        self._seq = 0

    def on_ack(self, payload: bytes) -> bool:
        """The platform acknowledges an event; True if it was in the outbox and is gone.

        An ack whose signature does not verify (anyone who may publish to the topic could
        forge one) is ignored: forgetting an event the platform never stored loses it."""
        try:
            ack = decode_ack(self.lock_id, payload, self.signing_key)
        except ProtocolError:
            self.bad_acks += 1
            return False
        if self.faults.drop_acks:
            return False
        return self.outbox.acknowledge(ack.boot, ack.seq)

    def advance(self, now_ms: int) -> list[Event]:
        """Latches that have finished opening by `now_ms`: their events, now in the outbox."""
        due = [opening for opening in self._openings if opening[0] <= now_ms]
        self._openings = [opening for opening in self._openings if opening[0] > now_ms]
        return [self._opened(*opening) for opening in sorted(due)]

    def next_opening_ms(self) -> int | None:
        """When the next latch still opening opens; None if none is."""
        return min((opening[0] for opening in self._openings), default=None)

    def _opened(self, at_ms: int, cmd_id: str, slot: int | None, item: str | None) -> Event:
        if slot is None:
            self.locked = False
            self.latch_changed_ms = at_ms
            return self.event(EventType.UNLOCKED, at_ms, cmd_id)
        released = Event(
            self.boot, self.next_seq(), at_ms, EventType.RELEASED, cmd_id, slot=slot, item=item
        )
        return self._record(released, at_ms)

    def on_command(self, payload: bytes, now_ms: int) -> list[Answer]:
        """Answers made now; a latch that takes `unlock_delay_ms` to open answers later
        (`advance`), so the list is empty then."""
        self.advance(now_ms)
        self._forget_expired(now_ms)
        try:
            command, sig = decode_command(self.lock_id, payload)
        except ProtocolError:
            return self._reject(None, Rejection.MALFORMED.value, now_ms)
        problem = verify_command(command, sig, self.signing_key, now_ms)
        if problem is not None:
            return self._reject(command.cmd_id, problem.value, now_ms)
        if command.cmd_id in self._seen:
            return self._reject(command.cmd_id, Rejection.REPLAYED.value, now_ms)
        self._seen[command.cmd_id] = command.expires_at
        if self.faults.never_confirm:
            return []
        if self.faults.reject_with:
            return self._reject(command.cmd_id, self.faults.reject_with, now_ms)
        # Every op names what it does: an op this lock does not know is never an unlock.
        match command.op:
            case Op.UNLOCK:
                return self._unlock(command, now_ms)
            case Op.RELEASE:
                return self._release(command.cmd_id, command.slot, now_ms)
            case Op.RING:
                return self._ring(command.cmd_id, now_ms)
            case _:
                assert_never(command.op)

    def _unlock(self, command: Command, now_ms: int) -> list[Answer]:
        if self.slots is not None:  # a cabinet has no latch to open
            return self._reject(command.cmd_id, Rejection.WRONG_DEVICE.value, now_ms)
        if not self.locked or self._openings:
            return self._reject(command.cmd_id, Rejection.BUSY.value, now_ms)
        return self._open(now_ms, command.cmd_id, None, None)

    def _ring(self, cmd_id: str, now_ms: int) -> list[Answer]:
        """Sound the bell: nothing else changes, locked or riding (§4.4)."""
        if self.slots is not None:  # a cabinet has no bell to find it by
            return self._reject(cmd_id, Rejection.WRONG_DEVICE.value, now_ms)
        self.rings.append((cmd_id, now_ms))
        log.info("%s rings its bell for command %s", self.lock_id, cmd_id)
        return [Answer(self.event(EventType.RANG, now_ms, cmd_id))]

    def _open(self, now_ms: int, cmd_id: str, slot: int | None, item: str | None) -> list[Answer]:
        delay = self.faults.unlock_delay_ms
        if delay <= 0:
            return [Answer(self._opened(now_ms, cmd_id, slot, item))]
        self._openings.append((now_ms + delay, cmd_id, slot, item))
        return []

    def _release(self, cmd_id: str, slot: int | None, now_ms: int) -> list[Answer]:
        if self.slots is None:  # a bike's lock has no slots
            return self._reject(cmd_id, Rejection.WRONG_DEVICE.value, now_ms)
        item = self.slots.get(slot) if slot is not None else None
        if item is None:
            return self._reject(cmd_id, Rejection.SLOT_EMPTY.value, now_ms)
        self.slots[slot] = None  # type: ignore[index]
        return self._open(now_ms, cmd_id, slot, item)

    def take_back(self, item: str, now_ms: int, slot: int | None = None) -> Event:
        """Someone pushes an item into a slot (the first free one unless told); the cabinet
        reads its tag and reports it."""
        self.advance(now_ms)
        if self.slots is None:
            raise ValueError("only a cabinet takes items back")
        if item in self.slots.values():
            raise ValueError(f"item {item} is already in this cabinet")
        free = [number for number, held in sorted(self.slots.items()) if held is None]
        chosen = slot if slot is not None else (free[0] if free else None)
        if chosen is None or self.slots.get(chosen, "") is not None:
            raise ValueError("no such free slot")
        self.slots[chosen] = item
        returned = Event(
            self.boot, self.next_seq(), now_ms, EventType.RETURNED, slot=chosen, item=item
        )
        return self._record(returned, now_ms)

    def close(self, now_ms: int) -> Event | None:
        """The rider pushes the latch shut; None if it was already closed."""
        self.advance(now_ms)
        if self.locked:
            return None
        self.locked = True
        self.latch_changed_ms = now_ms
        return self.event(EventType.LOCKED, now_ms, lon=self.lon, lat=self.lat)

    def move_to(self, lon: float, lat: float, now_ms: int) -> Telemetry:
        self.lon, self.lat = lon, lat
        return self.telemetry(now_ms)

    def telemetry(self, now_ms: int) -> Telemetry:
        self.advance(now_ms)
        return Telemetry(
            boot=self.boot,
            seq=self.next_seq(),
            ts=now_ms,
            lon=self.lon,
            lat=self.lat,
            locked=self.locked,
            battery_pct=self.battery_pct,
            accuracy_m=5.0,
            latch_ts=self.latch_changed_ms,
        )

    def status(self, presence: Presence, now_ms: int | None = None) -> Status:
        return Status(presence, self.boot, now_ms)

    def event(
        self,
        kind: EventType,
        now_ms: int,
        cmd_id: str | None = None,
        reason: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> Event:
        """A new event at `now_ms`, kept in the outbox before anyone may publish it."""
        event = Event(self.boot, self.next_seq(), now_ms, kind, cmd_id, reason, lon, lat)
        return self._record(event, now_ms)

    def _record(self, event: Event, happens_at_ms: int) -> Event:
        self.outbox.add(event, happens_at_ms)
        return event

    def _reject(self, cmd_id: str | None, reason: str, now_ms: int) -> list[Answer]:
        self.rejected.append(reason)
        return [Answer(self.event(EventType.CMD_REJECTED, now_ms, cmd_id, reason))]

    def _forget_expired(self, now_ms: int) -> None:
        # Expired commands are refused on expiry alone, so their ids need not be kept.
        for cmd_id in [c for c, expires in self._seen.items() if expires <= now_ms]:
            del self._seen[cmd_id]
