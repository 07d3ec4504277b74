"""The lock protocol v1 as data: topics, signed commands, events, telemetry, status.

Pure functions over bytes and dataclasses, shared by the backend (signing),
lockctl (parsing what locks send) and the simulator (a lock's side). The wire
format is specified for firmware vendors in docs/lock-protocol.md.
"""

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

TOPIC_ROOT = "lock/v1"
PROTOCOL_VERSION = 1
# A lock must remember every cmd_id until it expires; capping the lifetime bounds that memory.
MAX_COMMAND_LIFETIME_MS = 60_000


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


class Channel(StrEnum):
    CMD = "cmd"
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
        parts = topic.split("/")
        if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT:
            raise ProtocolError(f"not a lock topic: {topic!r}")
        try:
            channel = Channel(parts[3])
        except ValueError as exc:
            raise ProtocolError(f"unknown channel in {topic!r}") from exc
        return cls(parts[2], channel)


def subscription(channel: Channel) -> str:
    """Topic filter for one channel of every lock."""
    return f"{TOPIC_ROOT}/+/{channel.value}"


class Op(StrEnum):
    UNLOCK = "unlock"  # a bike's lock opens its latch
    RELEASE = "release"  # a cabinet lets the item in one slot go


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
        if (self.op is Op.RELEASE) != (self.slot is not None):
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


@dataclass(frozen=True)
class Event:
    boot: int
    seq: int
    ts: int
    type: EventType
    cmd_id: str | None = None
    reason: str | None = None
    lon: float | None = None
    lat: float | None = None
    slot: int | None = None
    item: str | None = None  # the item's code, as its tag reads


@dataclass(frozen=True)
class Telemetry:
    boot: int
    seq: int
    ts: int
    lon: float
    lat: float
    locked: bool
    battery_pct: int | None = None
    accuracy_m: float | None = None


class Presence(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Status:
    state: Presence
    boot: int
    ts: int | None = None


def encode(message: Event | Telemetry | Status) -> bytes:
    body = {"v": PROTOCOL_VERSION, **{k: v for k, v in asdict(message).items() if v is not None}}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_event(payload: bytes) -> Event:
    body = _json_object(payload)
    try:
        return Event(
            boot=_int(body, "boot"),
            seq=_int(body, "seq"),
            ts=_int(body, "ts"),
            type=EventType(body["type"]),
            cmd_id=_optional_str(body, "cmd_id"),
            reason=_optional_str(body, "reason"),
            lon=_optional_float(body, "lon"),
            lat=_optional_float(body, "lat"),
            slot=_optional_int(body, "slot"),
            item=_optional_str(body, "item"),
        )
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed event: {exc}") from exc


def decode_telemetry(payload: bytes) -> Telemetry:
    body = _json_object(payload)
    try:
        locked = body["locked"]
        if not isinstance(locked, bool):
            raise ValueError("locked must be a boolean")
        battery = body.get("battery_pct")
        return Telemetry(
            boot=_int(body, "boot"),
            seq=_int(body, "seq"),
            ts=_int(body, "ts"),
            lon=_float(body, "lon"),
            lat=_float(body, "lat"),
            locked=locked,
            battery_pct=None if battery is None else _int(body, "battery_pct"),
            accuracy_m=_optional_float(body, "accuracy_m"),
        )
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed telemetry: {exc}") from exc


def decode_status(payload: bytes) -> Status:
    body = _json_object(payload)
    try:
        return Status(state=Presence(body["state"]), boot=_int(body, "boot"), ts=body.get("ts"))
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"malformed status: {exc}") from exc


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("payload is not JSON") from exc
    if not isinstance(body, dict):
        raise ProtocolError("payload is not a JSON object")
    if body.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {body.get('v')!r}")
    return body


def _int(body: dict[str, Any], key: str) -> int:
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")
    return value


def _float(body: dict[str, Any], key: str) -> float:
    value = body[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{key} must be a number")
    return float(value)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key)


def _optional_float(body: dict[str, Any], key: str) -> float | None:
    return None if body.get(key) is None else _float(body, key)


def _str(body: dict[str, Any], key: str, allow_empty: bool = False) -> str:
    value = body[key]
    if not isinstance(value, str) or (not value and not allow_empty) or len(value) > 64:
        raise ValueError(f"{key} must be a string of at most 64 characters")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    return None if body.get(key) is None else _str(body, key)
