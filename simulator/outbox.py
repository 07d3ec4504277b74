"""A lock's outbox: the events it keeps until the platform's signed ack (protocol 1.1 §3).

Firmware writes every event to non-volatile memory before it publishes it and forgets it
only when the platform says, with a signed `ack`, that the event is stored: a PUBACK
means only that the broker took it. Unacknowledged events are resent unchanged 10 s
after their last send, then 20 s, 40 s, 60 s at most; and all of them, oldest first,
right after every (re)connection. The outbox is bounded: when full, the oldest goes.

Pure logic over millisecond clock readings passed in; no I/O, no threads.
"""

from collections import OrderedDict
from dataclasses import dataclass

from rental.adapters.locks.protocol import Event

# The protocol asks for room for at least 64 events: a lock offline for a day of rides.
DEFAULT_CAPACITY = 64
FIRST_RESEND_MS = 10_000
MAX_RESEND_MS = 60_000

EventKey = tuple[int, int]  # (boot, seq)


@dataclass
class _Entry:
    event: Event
    ready_at_ms: int  # when it happened: it cannot be sent before (a latch still opening)
    sends: int = 0
    last_sent_ms: int = 0


class Outbox:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        first_resend_ms: int = FIRST_RESEND_MS,
        max_resend_ms: int = MAX_RESEND_MS,
    ) -> None:
        if capacity < 1 or not 0 < first_resend_ms <= max_resend_ms:
            raise ValueError("an outbox holds at least one event; 0 < first resend <= max")
        self.capacity = capacity
        self.first_resend_ms = first_resend_ms
        self.max_resend_ms = max_resend_ms
        self.dropped = 0  # events lost because the outbox was full
        self._entries: OrderedDict[EventKey, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def events(self) -> list[Event]:
        return [entry.event for entry in self._entries.values()]

    def add(self, event: Event, ready_at_ms: int) -> Event | None:
        """Keep an event that happens at `ready_at_ms`; returns the oldest if it was
        dropped to make room."""
        oldest = None
        if len(self._entries) >= self.capacity:
            _, entry = self._entries.popitem(last=False)
            oldest = entry.event
            self.dropped += 1
        self._entries[(event.boot, event.seq)] = _Entry(event, ready_at_ms)
        return oldest

    def acknowledge(self, boot: int, seq: int) -> bool:
        """The platform stored (boot, seq): forget it. False if it was not here."""
        return self._entries.pop((boot, seq), None) is not None

    def sendable(self, now_ms: int) -> list[Event]:
        """Everything that has happened and is unacknowledged, oldest first: what a lock
        sends right after it (re)connected."""
        return [e.event for e in self._entries.values() if e.ready_at_ms <= now_ms]

    def due(self, now_ms: int) -> list[Event]:
        """What to send now while connected: events never sent yet, and those whose
        resend time came; oldest first."""
        return [e.event for e in self._entries.values() if self._due_at(e) <= now_ms]

    def next_due_ms(self) -> int | None:
        """When the next event falls due; None with an empty outbox."""
        return min((self._due_at(entry) for entry in self._entries.values()), default=None)

    def sent(self, event: Event, now_ms: int) -> bool:
        """The lock published `event` (again) at `now_ms`; True if it was the first time."""
        entry = self._entries.get((event.boot, event.seq))
        if entry is None:
            return False
        entry.sends += 1
        entry.last_sent_ms = now_ms
        return entry.sends == 1

    def _due_at(self, entry: _Entry) -> int:
        if entry.sends == 0:
            return entry.ready_at_ms
        return entry.last_sent_ms + self.resend_interval_ms(entry.sends)

    def resend_interval_ms(self, sends: int) -> int:
        """How long after its `sends`-th send an unacknowledged event goes again."""
        doublings = min(sends - 1, 16)  # bounded: 2**16 times any first interval is past the cap
        return int(min(self.first_resend_ms * 2**doublings, self.max_resend_ms))
