"""Damage reports: a rider says what is broken; the asset leaves riders' sight until an
operator closes every open report on it."""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.choices import one_of
from rental.domain.errors import Conflict, InvalidInput


class DamageCategory(StrEnum):
    BRAKES = "brakes"
    TYRE = "tyre"
    CHAIN = "chain"
    SEAT = "seat"
    LIGHTS = "lights"
    LOCK = "lock"
    QR_CODE = "qr_code"
    BATTERY = "battery"
    OTHER = "other"


class ReportState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RebalanceStep(StrEnum):
    """What a truck crew does with a bike: loads it (out of riders' sight while on board)
    or puts it down (back in service where it stands)."""

    PICK_UP = "pick_up"
    DROP_OFF = "drop_off"


MAX_NOTE_LENGTH = 500
# A reference to a photo the app uploaded (an object-store key or URL), not the photo.
PHOTO_REF = re.compile(r"^[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]{1,300}$")


@dataclass
class DamageReport:
    id: UUID
    asset_id: UUID
    reporter_id: UUID
    category: DamageCategory
    state: ReportState
    created_at: datetime
    photo_ref: str | None = None
    note: str | None = None
    closed_at: datetime | None = None
    closed_by: UUID | None = None
    resolution: str | None = None

    def close(self, operator_id: UUID, resolution: str, now: datetime) -> None:
        if self.state is not ReportState.OPEN:
            raise Conflict("this report is closed already", "report_closed")
        self.state = ReportState.CLOSED
        self.closed_at = now
        self.closed_by = operator_id
        self.resolution = resolution


def checked_category(value: object) -> DamageCategory:
    return one_of(DamageCategory, value, "category", "invalid_category")


def checked_photo_ref(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PHOTO_REF.match(value):
        raise InvalidInput(
            "photo_ref is the uploaded photo's key or URL (at most 300 URL characters)",
            "invalid_photo_ref",
        )
    return value


def checked_note(value: object, what: str = "note") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"{what} is a text of at most {MAX_NOTE_LENGTH} characters")
    return value.strip() or None
