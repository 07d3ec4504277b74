"""The lock protocol v1.2 as data: topics, signed commands and acknowledgements, events,
telemetry, status.

Pure functions over bytes and dataclasses, shared by the backend (signing),
lockctl (parsing what locks send) and the simulator (a lock's side). The wire
format is specified for firmware vendors in docs/lock-protocol.md.

Nothing a lock sends is trusted: identity fields (`boot`, `seq`, `type`, `locked`) that
fail their checks make the message unusable (ProtocolError); any other field that fails
is dropped, with the reason kept in the message's `dropped`, and the rest is used.
"""

import hashlib
import hmac
import json
import math
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, assert_never

import orjson

TOPIC_ROOT = "lock/v1"
# The `v` field on the wire: 1.1 and 1.2 only add to 1.0, so all speak `"v": 1` (§12 of the doc).
PROTOCOL_VERSION = 1
PROTOCOL_REVISION = "1.2"
# Field limits (docs/lock-protocol.md §3.1). JSON numbers are doubles in most firmware
# libraries: counters stay within the integers a double holds exactly.
MAX_COUNTER = 2**53 - 1
# Lock times outside these bounds (2020-01-01 to 2100-01-01 UTC) are a clock fault.
MIN_TS_MS = 1_577_836_800_000
MAX_TS_MS = 4_102_444_800_000
MAX_TEXT = 64
# A report larger than this is not a lock's: the broker refuses bigger ones too.
MAX_PAYLOAD_BYTES = 4096
# Beyond this a "fix" is no position at all (the platform ignores fixes past 50 m anyway).
MAX_ACCURACY_M = 100_000.0
# A lock must remember every cmd_id until it expires; capping the lifetime bounds that memory.
MAX_COMMAND_LIFETIME_MS = 60_000
# Integers of 19 digits or more may not fit 64 bits: json reads those payloads.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
# orjson reads arrays and objects nested up to 1,023 deep, json (Python 3.11) until its
# recursion limit, near 1,000 less the caller's stack: a payload with more brackets than
# this (a lock's report has one) is read by json, as it always was.
_MOST_BRACKETS = 256


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


class Channel(StrEnum):
    CMD = "cmd"
    ACK = "ack"  # platform -> lock: an event is safely stored (v1.1)
    EVT = "evt"
    TELEMETRY = "telemetry"
    STATUS = "status"


@dataclass(frozen=True)
class LockTopic:
    lock_id: str
    channel: Channel

    def __post_init__(self) -> None:
        if not self.lock_id or any(c in self.lock_id for c in "/+#$"):
            raise ProtocolError(f"invalid lock id in topic: {self.lock_id!r}")

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.lock_id}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> "LockTopic":
        """Raises ProtocolError for a topic that is not one lock's channel."""
        return _parse_topic(topic)


# Each lock publishes on a few topics, thousands of times a day: a topic is read once. The
# broker lets a lock publish only on its own topics, so there are three per lock; the bound
# holds the telemetry and event topics of 100,000 locks (status topics are rare).
@lru_cache(maxsize=1 << 18)
def _parse_topic(topic: str) -> LockTopic:
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise ProtocolError(f"not a lock topic: {topic!r}")
    try:
        channel = Channel(parts[3])
    except ValueError as exc:
        raise ProtocolError(f"unknown channel in {topic!r}") from exc
    return LockTopic(parts[2], channel)


def subscription(channel: Channel) -> str:
    """Topic filter for one channel of every lock."""
    return f"{TOPIC_ROOT}/+/{channel.value}"


class Op(StrEnum):
    UNLOCK = "unlock"  # a bike's lock opens its latch
    RELEASE = "release"  # a cabinet lets the item in one slot go
    RING = "ring"  # a bike's lock sounds its bell, so its rider finds it (1.2)


@dataclass(frozen=True)
class Command:
    lock_id: str
    cmd_id: str
    op: Op
    rental_id: str
    issued_at: int  # ms since the Unix epoch, UTC
    expires_at: int
    slot: int | None = None  # which slot a cabinet releases; only with `release`

    def __post_init__(self) -> None:
        match self.op:
            case Op.RELEASE:
                names_slot = True
            case Op.UNLOCK | Op.RING:
                names_slot = False
            case _:
                assert_never(self.op)
        if names_slot != (self.slot is not None):
            raise ProtocolError("a release names a slot, and only a release does")

    def signing_input(self) -> bytes:
        fields = [
            TOPIC_ROOT,
            self.lock_id,
            self.cmd_id,
            self.op.value,
            self.rental_id,
            str(self.issued_at),
            str(self.expires_at),
        ]
        if self.slot is not None:  # signed, so a command cannot be bent to another slot
            fields.append(str(self.slot))
        return "\n".join(fields).encode()


def signature(command: Command, key: bytes) -> str:
    return hmac.new(key, command.signing_input(), hashlib.sha256).hexdigest()


def encode_command(command: Command, key: bytes) -> bytes:
    body = {
        "v": PROTOCOL_VERSION,
        "cmd_id": command.cmd_id,
        "op": command.op.value,
        "rental_id": command.rental_id,
        "issued_at": command.issued_at,
        "expires_at": command.expires_at,
        **({"slot": command.slot} if command.slot is not None else {}),
        "sig": signature(command, key),
    }
    return json.dumps(body, separators=(",", ":")).encode()


class Rejection(StrEnum):
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    MALFORMED = "malformed"
    JAMMED = "jammed"
    BUSY = "busy"
    SLOT_EMPTY = "slot_empty"  # a cabinet asked to release a slot with nothing in it
    WRONG_DEVICE = "wrong_device"  # a release sent to a bike lock, or an unlock to a cabinet


def decode_command(lock_id: str, payload: bytes) -> tuple[Command, str]:
    body = _json_object(payload)
    try:
        command = Command(
            lock_id=lock_id,
            cmd_id=_str(body, "cmd_id"),
            op=Op(body["op"]),
            rental_id=_str(body, "rental_id", allow_empty=True),
            issued_at=_int(body, "issued_at"),
            expires_at=_int(body, "expires_at"),
            slot=_optional_int(body, "slot"),
        )
        sig = _str(body, "sig")
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed command: {exc}") from exc
    return command, sig


def verify_command(command: Command, sig: str, key: bytes, now_ms: int) -> Rejection | None:
    """What a lock checks before acting; None means execute. Replays are the caller's check."""
    if not hmac.compare_digest(signature(command, key), sig):
        return Rejection.BAD_SIGNATURE
    if command.expires_at <= now_ms or command.expires_at - command.issued_at > (
        MAX_COMMAND_LIFETIME_MS
    ):
        return Rejection.EXPIRED
    return None


class EventType(StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    CMD_REJECTED = "cmd_rejected"
    FAULT = "fault"
    RELEASED = "released"  # a cabinet let the item in `slot` go, for command `cmd_id`
    RETURNED = "returned"  # a cabinet took `item` back into `slot`
    RANG = "rang"  # a lock sounded its bell for command `cmd_id` (1.2)


# Fields a decoder dropped, with why: ((field, reason), ...). Never sent on the wire.
Dropped = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Event:
    boot: int
    seq: int
    ts: int | None  # None only when the lock's value was unusable (then: arrival time)
    type: EventType
    cmd_id: str | None = None
    reason: str | None = None
    lon: float | None = None
    lat: float | None = None
    slot: int | None = None
    item: str | None = None  # the item's code, as its tag reads
    dropped: Dropped = field(default=(), compare=False)


@dataclass(frozen=True)
class Telemetry:
    boot: int
    seq: int
    ts: int | None  # None only when the lock's value was unusable (then: arrival time)
    lon: float | None  # None (both) when the position was unusable
    lat: float | None
    locked: bool
    battery_pct: int | None = None
    accuracy_m: float | None = None
    # v1.1: the lock's time when the latch reached its current state (a close made while
    # offline is dated by it, not by the report that carries it).
    latch_ts: int | None = None
    dropped: Dropped = field(default=(), compare=False)

    @property
    def has_position(self) -> bool:
        return self.lon is not None and self.lat is not None


@dataclass(frozen=True)
class Ack:
    """The platform stored event (boot, seq) of a lock: the lock may forget it (v1.1)."""

    lock_id: str
    boot: int
    seq: int

    def signing_input(self) -> bytes:
        return "\n".join([TOPIC_ROOT, self.lock_id, "ack", str(self.boot), str(self.seq)]).encode()


def encode_ack(ack: Ack, key: bytes) -> bytes:
    sig = hmac.new(key, ack.signing_input(), hashlib.sha256).hexdigest()
    body = {"v": PROTOCOL_VERSION, "boot": ack.boot, "seq": ack.seq, "sig": sig}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_ack(lock_id: str, payload: bytes, key: bytes) -> Ack:
    """What a lock does with an acknowledgement: parse it and check its signature."""
    body = _json_object(payload)
    try:
        ack = Ack(lock_id, _counter(body, "boot"), _counter(body, "seq"))
        sig = _str(body, "sig")
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed ack: {exc}") from exc
    expected = hmac.new(key, ack.signing_input(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig):
        raise ProtocolError("ack signature does not match")
    return ack


class Presence(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Status:
    state: Presence
    boot: int
    ts: int | None = None


def encode(message: Event | Telemetry | Status) -> bytes:
    fields = asdict(message)
    fields.pop("dropped", None)
    body = {"v": PROTOCOL_VERSION, **{k: v for k, v in fields.items() if v is not None}}
    return json.dumps(body, separators=(",", ":")).encode()


class _Fields:
    """Reads optional fields of one message, dropping (and noting) each that fails."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.dropped: list[tuple[str, str]] = []

    def keep(self, key: str, check: Any) -> Any:
        if self.body.get(key) is None:
            return None
        try:
            return check(self.body, key)
        except ValueError as exc:
            self.dropped.append((key, str(exc)))
            return None

    def position(self) -> tuple[float | None, float | None]:
        """lon and lat are kept together or dropped together."""
        lon, lat = self.keep("lon", _longitude), self.keep("lat", _latitude)
        if (lon is None) != (lat is None):
            kept = "lon" if lon is not None else "lat"
            self.dropped.append((kept, "dropped with its pair"))
            return None, None
        return lon, lat


def decode_event(payload: bytes) -> Event:
    body = _json_object(payload)
    try:
        boot, seq, kind = _counter(body, "boot"), _counter(body, "seq"), EventType(body["type"])
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed event: {exc}") from exc
    read = _Fields(body)
    ts = read.keep("ts", _timestamp)
    if ts is None and "ts" not in dict(read.dropped):
        read.dropped.append(("ts", "missing"))
    lon, lat = read.position()
    return Event(
        boot=boot,
        seq=seq,
        ts=ts,
        type=kind,
        cmd_id=read.keep("cmd_id", _str),
        reason=read.keep("reason", _str),
        lon=lon,
        lat=lat,
        slot=read.keep("slot", _slot),
        item=read.keep("item", _str),
        dropped=tuple(read.dropped),
    )


def decode_telemetry(payload: bytes) -> Telemetry:
    body = _json_object(payload)
    try:
        boot, seq = _counter(body, "boot"), _counter(body, "seq")
        locked = body["locked"]
        if not isinstance(locked, bool):
            raise ValueError("locked must be a boolean")
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed telemetry: {exc}") from exc
    read = _Fields(body)
    ts = read.keep("ts", _timestamp)
    if ts is None and "ts" not in dict(read.dropped):
        read.dropped.append(("ts", "missing"))
    lon, lat = read.position()
    accuracy = read.keep("accuracy_m", _accuracy)
    if lon is not None and "accuracy_m" in dict(read.dropped):
        # A fix whose accuracy cannot be read cannot be judged: it is no fix.
        read.dropped += [("lon", "accuracy unusable"), ("lat", "accuracy unusable")]
        lon = lat = None
    latch_ts = read.keep("latch_ts", _timestamp)
    if latch_ts is not None and ts is not None and latch_ts > ts:
        read.dropped.append(("latch_ts", "after the report's own ts"))
        latch_ts = None
    return Telemetry(
        boot=boot,
        seq=seq,
        ts=ts,
        lon=lon,
        lat=lat,
        locked=locked,
        battery_pct=read.keep("battery_pct", _percent),
        accuracy_m=accuracy,
        latch_ts=latch_ts,
        dropped=tuple(read.dropped),
    )


def decode_status(payload: bytes) -> Status:
    body = _json_object(payload)
    try:
        state, boot = Presence(body["state"]), _counter(body, "boot")
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed status: {exc}") from exc
    ts = _Fields(body).keep("ts", _timestamp)
    return Status(state=state, boot=boot, ts=ts)


def _json_object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload is over {MAX_PAYLOAD_BYTES} bytes")
    body = _parsed_json(payload)
    if not isinstance(body, dict):
        raise ProtocolError("payload is not a JSON object")
    if body.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {body.get('v')!r}")
    return body


def _parsed_json(payload: bytes) -> Any:
    """orjson reads a lock's report in a quarter of the time json does (most of the CPU a
    fix costs lockctl), but refuses some of what json reads: NaN and Infinity, which some
    firmware libraries write (they parse, and the field checks drop them: a NaN position
    must not cost the event), lone surrogates, a byte-order mark, UTF-16 and UTF-32; and
    it reads an integer beyond 64 bits as a float, and arrays nested deeper than json can.
    json reads all of those, and a payload with a run of 19 digits or many brackets, so a
    report means the same either way (tests/unit/test_protocol_json.py)."""
    brackets = payload.count(b"[") + payload.count(b"{")
    if brackets <= _MOST_BRACKETS and _LONG_NUMBER.search(payload) is None:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("payload is not JSON") from exc


def _int(body: dict[str, Any], key: str, low: int = 0, high: int = MAX_COUNTER) -> int:
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer from {low} to {high}")
    return value


def _counter(body: dict[str, Any], key: str) -> int:
    return _int(body, key)


def _timestamp(body: dict[str, Any], key: str) -> int:
    return _int(body, key, MIN_TS_MS, MAX_TS_MS)


def _percent(body: dict[str, Any], key: str) -> int:
    return _int(body, key, 0, 100)


def _slot(body: dict[str, Any], key: str) -> int:
    return _int(body, key, 1, 10_000)


def _float(body: dict[str, Any], key: str, low: float, high: float) -> float:
    value = body[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{key} must be a number")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{key} must be a finite number from {low:g} to {high:g}")
    return number


def _longitude(body: dict[str, Any], key: str) -> float:
    return _float(body, key, -180.0, 180.0)


def _latitude(body: dict[str, Any], key: str) -> float:
    return _float(body, key, -90.0, 90.0)


def _accuracy(body: dict[str, Any], key: str) -> float:
    return _float(body, key, 0.0, MAX_ACCURACY_M)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key)


def _str(body: dict[str, Any], key: str, allow_empty: bool = False) -> str:
    value = body[key]
    if not isinstance(value, str) or (not value and not allow_empty) or len(value) > MAX_TEXT:
        raise ValueError(f"{key} must be a string of at most {MAX_TEXT} characters")
    if any(ord(c) < 0x20 for c in value):
        raise ValueError(f"{key} must not hold control characters")
    return value
