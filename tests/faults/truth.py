"""What the locks really did, seen from outside the platform.

`Wiretap` listens on the broker to every lock's events and telemetry with a session of
its own (it neither shares the platform's subscription nor acknowledges anything to
locks), so it knows what each lock published whatever lockctl did with it: the event
times are the truth a ride's bill is checked against. `LockImpostor` speaks as one lock
with the lock's own credentials, to publish the crafted messages a broken or hostile
lock would; the wiretap is told of them, so they are never taken for the lock's own.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient
from rental.adapters.locks.protocol import Channel, LockTopic, ProtocolError

# The wiretap's session survives a broker restart (the broker persists it), so events
# published while it reconnects still reach it.
WIRETAP_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class Published:
    """One message a lock sent, as it crossed the broker."""

    lock_id: str
    channel: Channel
    payload: bytes
    body: dict[str, Any]
    seen_at: float  # wall time (s) the wiretap got it

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.lock_id, int(self.body["boot"]), int(self.body["seq"]))

    @property
    def type(self) -> str | None:
        return self.body.get("type")

    @property
    def ts_s(self) -> float:
        """The lock's own time of the message, in seconds."""
        return float(self.body["ts"]) / 1000

    @property
    def order(self) -> tuple[int, int]:
        return (int(self.body["boot"]), int(self.body["seq"]))


@dataclass
class LatchPeriod:
    """The latch open from `opened` (an `unlocked` event) to `closed` (`locked`), if yet."""

    lock_id: str
    opened: Published
    closed: Published | None

    @property
    def cmd_id(self) -> str | None:
        return self.opened.body.get("cmd_id")

    def open_at(self, moment: float) -> bool:
        return self.opened.ts_s <= moment and (self.closed is None or self.closed.ts_s > moment)


@dataclass
class Wiretap:
    broker: BrokerAddress
    messages: list[Published] = field(default_factory=list)
    # Payloads a test sent in a lock's name: not the lock's own.
    injected: set[bytes] = field(default_factory=set)
    # (boot, seq) a lock used twice for different content (protocol §5).
    reused: list[tuple[str, str]] = field(default_factory=list)  # (lock id, what)
    _first: dict[tuple[str, int, int], Published] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._client = MqttClient(
            self.broker,
            f"faults-wiretap-{uuid.uuid4().hex[:8]}",
            on_message=self._record,
            clean_start=False,
            session_expiry_seconds=WIRETAP_SESSION_SECONDS,
        )
        self._client.connect()
        self._client.subscribe(
            [(f"lock/v1/+/{Channel.EVT.value}", 1), (f"lock/v1/+/{Channel.TELEMETRY.value}", 1)]
        )

    def stop(self) -> None:
        self._client.disconnect()

    def _record(self, message: Message) -> None:
        try:
            topic = LockTopic.parse(message.topic)
            body = json.loads(message.payload)
            int(body["boot"]), int(body["seq"])
        except (ProtocolError, ValueError, KeyError, TypeError, OverflowError):
            return  # not a lock's message at all: a test's crafted garbage
        seen = Published(topic.lock_id, topic.channel, message.payload, body, time.time())
        with self._guard:
            self.messages.append(seen)
            if message.payload in self.injected:
                return
            first = self._first.setdefault(seen.key, seen)
            if first is not seen and (first.channel, first.body) != (seen.channel, seen.body):
                self.reused.append(
                    (
                        seen.lock_id,
                        f"lock {seen.lock_id} used (boot, seq) {seen.order} for "
                        f"{first.channel.value} {_short(first.body)} and "
                        f"{seen.channel.value} {_short(seen.body)}",
                    )
                )

    # -- what the locks did ---------------------------------------------------------

    def own(self, lock_id: str, channel: Channel | None = None) -> list[Published]:
        """The lock's own messages (no crafted ones), first copy of each, in lock order."""
        with self._guard:
            firsts = [
                m
                for m in self._first.values()
                if m.lock_id == lock_id and (channel is None or m.channel is channel)
            ]
        return sorted(firsts, key=lambda m: m.order)

    def events(self, lock_id: str, kind: str | None = None) -> list[Published]:
        return [e for e in self.own(lock_id, Channel.EVT) if kind is None or e.type == kind]

    def crafted(self, lock_id: str) -> list[Published]:
        with self._guard:
            return [m for m in self.messages if m.lock_id == lock_id and m.payload in self.injected]

    def latch_periods(self, lock_id: str) -> list[LatchPeriod]:
        """Every time the latch opened, and the first close after it in the lock's order."""
        periods: list[LatchPeriod] = []
        for event in self.events(lock_id):
            if event.type == "unlocked":
                periods.append(LatchPeriod(lock_id, event, None))
            elif event.type == "locked" and periods and periods[-1].closed is None:
                periods[-1].closed = event
        return periods

    def opening(self, lock_id: str, cmd_id: str) -> LatchPeriod | None:
        return next((p for p in self.latch_periods(lock_id) if p.cmd_id == cmd_id), None)

    def wait_for(
        self, lock_id: str, kind: str, after: float = 0.0, timeout: float = 10.0
    ) -> Published:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events(lock_id, kind) if e.seen_at >= after]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"lock {lock_id} published no {kind} event within {timeout} s")


class LockImpostor:
    """Connects as the lock itself (client id = lock id, the lock's own password)."""

    def __init__(self, broker: BrokerAddress, lock_id: str, password: str, wiretap: Wiretap):
        self.lock_id = lock_id
        self._wiretap = wiretap
        self._client = MqttClient(broker.with_credentials(lock_id, password), lock_id)

    def __enter__(self) -> "LockImpostor":
        self._client.connect()
        return self

    def __exit__(self, *_: object) -> None:
        self._client.disconnect()

    def publish(
        self, channel: Channel, body: dict[str, Any] | bytes, retain: bool = False
    ) -> bytes:
        """Publish raw; waits for the broker's PUBACK so the message is on its way."""
        payload = body if isinstance(body, bytes) else _dumps(body)
        self._wiretap.injected.add(payload)
        code = self._client.publish_confirmed(
            str(LockTopic(self.lock_id, channel)), payload, retain=retain
        )
        assert code < 0x80, f"the broker refused a crafted {channel.value}: {code:#x}"
        return payload


def clock(seconds: float) -> str:
    """A wall time (s) as the logs show it, to the millisecond."""
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


def _dumps(body: dict[str, Any]) -> bytes:
    # allow_nan: crafted messages carry NaN the way broken firmware writes it.
    return json.dumps(body, separators=(",", ":"), allow_nan=True).encode()


def _short(body: dict[str, Any]) -> str:
    keep = {k: body[k] for k in ("type", "ts", "locked") if k in body}
    return json.dumps(keep, default=str)
