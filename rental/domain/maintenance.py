"""Damage reports: a rider says what is broken; the asset leaves riders' sight until an
operator closes every open report on it."""

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


@dataclass
class DamageReport:
    id: UUID
    asset_id: UUID
    reporter_id: UUID
    category: DamageCategory
    state: ReportState
    created_at: datetime
    # The id of the reporter's DamagePhoto (rental.domain.damage_photos), as text: reports
    # from before the platform stored photos carry the app's own key or URL there.
    photo_ref: str | None = None
    note: str | None = None
    closed_at: datetime | None = None
    closed_by: UUID | None = None
    resolution: str | None = None

    def amend(self, category: DamageCategory, photo_ref: str | None, note: str | None) -> None:
        """The reporter says more while the report is open: the newest category, the new
        photo (the earlier one kept when none comes), the new note after the earlier one
        (the newest alone when both would not fit)."""
        if self.state is not ReportState.OPEN:
            raise Conflict("this report is closed already", "report_closed")
        self.category = category
        self.photo_ref = photo_ref or self.photo_ref
        if note and self.note and note != self.note:
            both = f"{self.note}\n{note}"
            self.note = both if len(both) <= MAX_NOTE_LENGTH else note
        else:
            self.note = note or self.note

    def close(self, operator_id: UUID, resolution: str, now: datetime) -> None:
        if self.state is not ReportState.OPEN:
            raise Conflict("this report is closed already", "report_closed")
        self.state = ReportState.CLOSED
        self.closed_at = now
        self.closed_by = operator_id
        self.resolution = resolution


def checked_category(value: object) -> DamageCategory:
    return one_of(DamageCategory, value, "category", "invalid_category")


def checked_note(value: object, what: str = "note") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"{what} is a text of at most {MAX_NOTE_LENGTH} characters")
    return value.strip() or None
