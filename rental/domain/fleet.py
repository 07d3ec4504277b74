"""Assets riders rent and the smart locks that hold them."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import InvalidInput


class AssetKind(StrEnum):
    BIKE = "bike"
    EBIKE = "ebike"
    POWER_BANK = "power_bank"
    UMBRELLA = "umbrella"
    BASKETBALL = "basketball"


# What a rider rides, as opposed to items lent from cabinets. Open data (GBFS, MDS) is
# about vehicles only.
VEHICLE_KINDS = (AssetKind.BIKE, AssetKind.EBIKE)


@dataclass
class Lock:
    id: str
    signing_key: bytes
    online: bool = False
    boot: int | None = None
    locked: bool | None = None
    battery_pct: int | None = None
    lon: float | None = None
    lat: float | None = None
    last_seen_at: datetime | None = None
    # An unlock sent then went unanswered: the latch may be open until the lock reports.
    latch_unknown_since: datetime | None = None
    # (boot, seq) of the newest report the latch state is from: a `locked` or `unlocked`
    # event, or any fix (each says the latch's state). None: nothing reported it yet.
    latch_report: tuple[int, int] | None = None


# Rented from a cabinet and returned to one; vehicles have locks of their own.
ITEM_KINDS = frozenset({AssetKind.POWER_BANK, AssetKind.UMBRELLA, AssetKind.BASKETBALL})


def is_item(kind: AssetKind) -> bool:
    return kind in ITEM_KINDS


@dataclass
class Asset:
    id: UUID
    code: str
    kind: AssetKind
    city_id: str
    lock_id: str | None  # a vehicle's own lock; None for an item
    in_service: bool = True
    cabinet_id: str | None = None  # where an item is docked now (None while out)
    slot: int | None = None

    @property
    def device_id(self) -> str | None:
        """The device that commands it: its lock, or the cabinet it sits in."""
        return self.lock_id or self.cabinet_id


@dataclass(frozen=True)
class Cabinet:
    """A station with numbered slots that releases and takes back items of one kind."""

    lock_id: str  # its identity on the broker, provisioned like a lock
    city_id: str
    kind: AssetKind
    slots: int

    def __post_init__(self) -> None:
        if not is_item(self.kind):
            raise InvalidInput(
                "a cabinet holds power banks, umbrellas or basketballs", "invalid_kind"
            )
        if not 1 <= self.slots <= MAX_SLOTS:
            raise InvalidInput(f"a cabinet has 1 to {MAX_SLOTS} slots", "invalid_slots")


MAX_SLOTS = 200


class UnavailableReason(StrEnum):
    """Why riders cannot take an asset now; operators see the same reasons."""

    OUT_OF_SERVICE = "out_of_service"  # taken out by an operator
    DAMAGED = "damaged"  # an open damage report
    LOW_BATTERY = "low_battery"
    OFFLINE = "offline"  # disconnected, or silent past the heartbeat timeout
    IN_USE = "in_use"
    RESERVED = "reserved"
    LATCH_OPEN = "latch_open"  # the lock reports its latch open, and no rental has it
    LATCH_UNKNOWN = "latch_unknown"  # an unlock went unanswered: open or not, nobody knows


@dataclass(frozen=True)
class Condition:
    """What decides whether an asset can be rented, read in one query."""

    in_service: bool
    open_damage_reports: int
    battery_pct: int | None
    online: bool
    last_seen_at: datetime | None
    in_use: bool
    reserved: bool
    latch_open: bool = False  # the lock's last report: its latch is open
    latch_unknown: bool = False  # not reported since an unanswered unlock


@dataclass(frozen=True)
class ServicePolicy:
    """The operator's thresholds for taking assets out of riders' sight."""

    low_battery_pct: int = 15
    # Locks heartbeat every 15 min while parked: two missed heartbeats and a margin.
    silence: timedelta = timedelta(minutes=35)


def unavailable_because(
    condition: Condition, now: datetime, policy: ServicePolicy
) -> list[UnavailableReason]:
    reasons: list[UnavailableReason] = []
    if not condition.in_service:
        reasons.append(UnavailableReason.OUT_OF_SERVICE)
    if condition.open_damage_reports:
        reasons.append(UnavailableReason.DAMAGED)
    if is_low(condition.battery_pct, policy):
        reasons.append(UnavailableReason.LOW_BATTERY)
    if not is_reachable(condition.online, condition.last_seen_at, now, policy.silence):
        reasons.append(UnavailableReason.OFFLINE)
    if condition.in_use:
        reasons.append(UnavailableReason.IN_USE)
    if condition.reserved:
        reasons.append(UnavailableReason.RESERVED)
    if condition.latch_open and not condition.in_use:
        reasons.append(UnavailableReason.LATCH_OPEN)
    if condition.latch_unknown and not condition.in_use:
        reasons.append(UnavailableReason.LATCH_UNKNOWN)
    return reasons


def is_low(battery_pct: int | None, policy: ServicePolicy) -> bool:
    return battery_pct is not None and battery_pct < policy.low_battery_pct


def is_reachable(
    online: bool, last_seen_at: datetime | None, now: datetime, silence: timedelta
) -> bool:
    """Connected, and heard from within the heartbeat timeout."""
    return online and last_seen_at is not None and now - last_seen_at <= silence


CODE = r"[A-Za-z0-9][A-Za-z0-9_-]{2,39}"
ANY = r"[^\x00\n]*"  # within a line, and no NUL (which no text here may hold)
ASSET_CODE = re.compile(rf"^{CODE}$")
LOCK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
# What a QR code encodes: a URL whose last path segment after /q/ is the asset's code, or
# the bare code; blanks around it do not count. One pattern, so that the API can publish
# it as the rule (its OpenAPI document) and mean exactly what this module checks.
QR = re.compile(rf"^[ \t\r\n]*(?:({CODE})|{ANY}/q/({CODE})/?(?:[?#]{ANY})?)[ \t\r\n]*$")


def asset_code_from_qr(qr: str) -> str:
    """Accept what the QR code encodes (a URL ending in /q/<code>) or the bare code."""
    match = QR.fullmatch(qr)
    if match is None:
        raise InvalidInput("qr must be an asset code or a URL ending in /q/<code>", "invalid_qr")
    return match.group(1) or match.group(2)


def qr_payload(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/q/{code}"


# Broker usernames (and client ids) the platform's own processes use.
RESERVED_LOCK_IDS = frozenset({"platform", "admin", "api"})
RESERVED_LOCK_ID_PREFIX = "lockctl-"


def check_lock_id(lock_id: str) -> str:
    # Lock ids become MQTT topic levels, broker usernames and client ids: no wildcards or
    # slashes, and none of the platform's own.
    if not LOCK_ID.match(lock_id):
        raise InvalidInput(
            "lock_id: 3-40 letters, digits, '-' or '_', starting with a letter or digit",
            "invalid_lock_id",
        )
    if lock_id.lower() in RESERVED_LOCK_IDS or lock_id.lower().startswith(RESERVED_LOCK_ID_PREFIX):
        raise InvalidInput(f"lock_id {lock_id!r} is reserved for the platform", "reserved_lock_id")
    return lock_id


def check_asset_code(code: str) -> str:
    if not ASSET_CODE.match(code):
        raise InvalidInput(
            "code: 3-40 letters, digits, '-' or '_', starting with a letter or digit",
            "invalid_asset_code",
        )
    return code
