"""Assets riders rent and the smart locks that hold them."""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import InvalidInput


class AssetKind(StrEnum):
    BIKE = "bike"
    EBIKE = "ebike"
    POWER_BANK = "power_bank"
    UMBRELLA = "umbrella"
    BASKETBALL = "basketball"


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


@dataclass
class Asset:
    id: UUID
    code: str
    kind: AssetKind
    city_id: str
    lock_id: str
    in_service: bool = True


ASSET_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
LOCK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
QR_PATH = re.compile(r"/q/([^/?#]+)/?(?:[?#].*)?$")


def asset_code_from_qr(qr: str) -> str:
    """Accept what the QR code encodes (a URL ending in /q/<code>) or the bare code."""
    text = qr.strip()
    match = QR_PATH.search(text)
    code = match.group(1) if match else text
    if not ASSET_CODE.match(code):
        raise InvalidInput("qr must be an asset code or a URL ending in /q/<code>", "invalid_qr")
    return code


def qr_payload(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/q/{code}"


def check_lock_id(lock_id: str) -> str:
    # Lock ids become MQTT topic levels and broker usernames: no wildcards or slashes.
    if not LOCK_ID.match(lock_id):
        raise InvalidInput(
            "lock_id: 3-40 letters, digits, '-' or '_', starting with a letter or digit",
            "invalid_lock_id",
        )
    return lock_id


def check_asset_code(code: str) -> str:
    if not ASSET_CODE.match(code):
        raise InvalidInput(
            "code: 3-40 letters, digits, '-' or '_', starting with a letter or digit",
            "invalid_asset_code",
        )
    return code
