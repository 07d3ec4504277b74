"""MDS 2.0 (Mobility Data Specification) for the cities that license us: our vehicles,
their states, trips and telemetry in the terms the provider API defines.

Privacy by design: MDS identifies vehicles (`device_id` is the asset's own stable id),
never riders. Trips carry the rental's random id and nothing that leads to the rider.
"""

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from rental.domain.errors import InvalidInput, NotFound
from rental.domain.fleet import AssetKind

VERSION = "2.0.0"
MEDIA_TYPE = "application/vnd.mds+json"
ANSWER_TYPE = f"{MEDIA_TYPE};version=2.0"  # what our answers are sent as
# /events/recent answers for this far back; older events are read by the hour.
RECENT_EVENTS = timedelta(days=14)
# Below this many, report counts are shown as -1 so that small groups cannot be singled out.
REPORT_MIN_COUNT = 10
REPORT_HEADER = (
    "provider_id,start_date,duration,special_group_type,geography_id,"
    "vehicle_type,trip_count,rider_count"
)


class VehicleEvent(StrEnum):
    """What happened to a vehicle, in our words; stored in the vehicle's history."""

    TRIP_START = "trip_start"
    TRIP_END = "trip_end"
    RESERVATION_START = "reservation_start"
    RESERVATION_END = "reservation_end"
    SERVICE_STOP = "service_stop"
    SERVICE_RESUME = "service_resume"
    DAMAGE_REPORTED = "damage_reported"
    DAMAGE_CLEARED = "damage_cleared"
    BATTERY_LOW = "battery_low"
    BATTERY_CHARGED = "battery_charged"
    COMMS_LOST = "comms_lost"
    COMMS_RESTORED = "comms_restored"
    REBALANCE_PICK_UP = "rebalance_pick_up"
    REBALANCE_DROP_OFF = "rebalance_drop_off"


# Each of our events as MDS's vehicle state after it and its event type. MDS 2.0 has no
# `rebalance_drop_off`: a bike a truck puts down is a `provider_drop_off`.
MDS_EVENT: dict[VehicleEvent, tuple[str, str]] = {
    VehicleEvent.TRIP_START: ("on_trip", "trip_start"),
    VehicleEvent.TRIP_END: ("available", "trip_end"),
    VehicleEvent.RESERVATION_START: ("reserved", "reservation_start"),
    VehicleEvent.RESERVATION_END: ("available", "reservation_cancel"),
    VehicleEvent.SERVICE_STOP: ("removed", "maintenance_pick_up"),
    VehicleEvent.SERVICE_RESUME: ("available", "provider_drop_off"),
    VehicleEvent.DAMAGE_REPORTED: ("non_operational", "maintenance"),
    VehicleEvent.DAMAGE_CLEARED: ("available", "maintenance"),
    VehicleEvent.BATTERY_LOW: ("non_operational", "battery_low"),
    VehicleEvent.BATTERY_CHARGED: ("available", "battery_charged"),
    VehicleEvent.COMMS_LOST: ("non_contactable", "comms_lost"),
    VehicleEvent.COMMS_RESTORED: ("available", "comms_restored"),
    VehicleEvent.REBALANCE_PICK_UP: ("removed", "rebalance_pick_up"),
    VehicleEvent.REBALANCE_DROP_OFF: ("available", "provider_drop_off"),
}


def battery_change(before: int | None, now: int | None, low_pct: int) -> VehicleEvent | None:
    """The vehicle's event when its charge crosses the line below which riders can't have
    it; None when it stays on one side (or is not known)."""
    if before is None or now is None or (before < low_pct) == (now < low_pct):
        return None
    return VehicleEvent.BATTERY_LOW if now < low_pct else VehicleEvent.BATTERY_CHARGED


VEHICLE_TYPE = {AssetKind.BIKE: "bicycle", AssetKind.EBIKE: "bicycle"}
PROPULSION = {AssetKind.BIKE: ["human"], AssetKind.EBIKE: ["electric_assist", "human"]}


def provider_id_for(base_url: str) -> str:
    """A provider id that stays the same for one deployment unless configured."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, base_url))


def telemetry_id(lock_id: str, boot: int, seq: int) -> str:
    """Stable per fix: the lock's (boot, seq) names each report once."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{lock_id}/{boot}/{seq}"))


def timestamp(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def gps(lon: float, lat: float, accuracy_m: float | None = None) -> dict[str, Any]:
    point: dict[str, Any] = {"lat": round(lat, 7), "lng": round(lon, 7)}
    if accuracy_m is not None:
        point["horizontal_accuracy"] = accuracy_m
    return point


# --- the current state of a vehicle --------------------------------------------------


@dataclass(frozen=True)
class LiveVehicle:
    """What the platform knows of a vehicle now, as MDS's state needs it."""

    on_trip: bool
    in_service: bool
    reserved: bool
    reachable: bool
    damaged: bool
    battery_low: bool


def live_state(vehicle: LiveVehicle) -> tuple[str, str]:
    """MDS state now, with the event type that best explains it. A trip outranks all
    else (the rider has the bike whatever its lock says), then operators' decisions, then
    what the lock tells."""
    if vehicle.on_trip:
        return "on_trip", "trip_start"
    if not vehicle.in_service:
        return "removed", "maintenance_pick_up"
    if vehicle.reserved:
        return "reserved", "reservation_start"
    if not vehicle.reachable:
        return "non_contactable", "comms_lost"
    if vehicle.damaged:
        return "non_operational", "maintenance"
    if vehicle.battery_low:
        return "non_operational", "battery_low"
    return "available", "unspecified"


# --- time windows ---------------------------------------------------------------------

# The ends of the time we can represent. A window reaching past them is cut there: no event,
# trip or fix lies beyond, so the answer is the same, and an hour or month ending past the
# last one is simply not over yet.
START_OF_TIME = datetime.min.replace(tzinfo=UTC)
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A timestamp of this many digits or more is past either end (10**20 ms is beyond year
# 9999): cut without making "1e999999999" an integer of a billion digits.
MAX_TIMESTAMP_DIGITS = 20
FIRST_MILLISECOND = timestamp(START_OF_TIME)
LAST_MILLISECOND = timestamp(END_OF_TIME)

# ASCII digits only: Python's \d also takes other scripts' digits, which int() reads.
_HOUR = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})\.csv")


def later(moment: datetime, by: timedelta, zone: tzinfo | None = None) -> datetime:
    """`moment + by`, or the end of time when that is past what we can represent. A naive
    `moment` is a wall time on the clock of `zone`, and the answer a UTC instant."""
    try:
        return moment + by if zone is None else _instant(moment + by, zone)
    except OverflowError:
        return END_OF_TIME


def _instant(wall_time: datetime, zone: tzinfo) -> datetime:
    """A wall time of a zone as a UTC instant (midnight exists in every zone we know of, and
    where it does not, zoneinfo reads it with the offset before the gap)."""
    try:
        return wall_time.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC is before datetime.min in UTC
        return datetime.min.replace(tzinfo=UTC) if wall_time.year == 1 else END_OF_TIME


def hour_window(value: str | None, name: str) -> tuple[datetime, datetime]:
    """`YYYY-MM-DDTHH`, a UTC hour, as [start, end). Absent: `missing_param`; not such an
    hour: `bad_param` (both 400)."""
    if not value:
        raise InvalidInput(f"{name} is required: a UTC hour as YYYY-MM-DDTHH", "missing_param")
    match = _HOUR.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour = (int(part) for part in match.groups())
        start = datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{name} is a UTC hour as YYYY-MM-DDTHH", "bad_param") from None
    return start, later(start, timedelta(hours=1))


def whole_milliseconds(text: str) -> int:
    """MDS's timestamp as a client writes it: integer milliseconds since 1970, also written
    with a point or an exponent as JSON Schema's numbers may be (`1514764800000.0`,
    `1.5147648e12`). One past either end of the time we can represent is cut there. Raises
    ValueError for anything that is no whole number."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"not a whole number: {text!r}")
    if number.adjusted() >= MAX_TIMESTAMP_DIGITS:
        return LAST_MILLISECOND if number > 0 else FIRST_MILLISECOND
    return max(FIRST_MILLISECOND, min(LAST_MILLISECOND, int(number)))


def moment_at(milliseconds: int) -> datetime:
    """A timestamp as a time; one past what we can represent, as the end (or start) of time."""
    if milliseconds >= LAST_MILLISECOND:
        return END_OF_TIME
    if milliseconds <= FIRST_MILLISECOND:
        return START_OF_TIME
    return EPOCH + timedelta(milliseconds=milliseconds)


def recent(window: tuple[datetime, datetime], now: datetime) -> tuple[datetime, datetime]:
    """The window, if it is one that /events/recent answers: an empty one (start equal to
    end) is, and holds no events."""
    first, last = window
    if first > last:
        raise InvalidInput("start_time must not be after end_time", "bad_param")
    if first < now - RECENT_EVENTS:
        raise InvalidInput(
            "events/recent covers the last two weeks; read older events by the hour from "
            "events/historical",
            "bad_param",
        )
    return first, last


def month_window(filename: str, now: datetime, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """`YYYY-MM.csv` as [start, end) of a month that is over."""
    return month_over(month_of(filename, zone), now)


def month_of(filename: str, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """`YYYY-MM.csv` as the [start, end) of that month on the city's clock (`zone`), as UTC
    instants: a Berlin regulator's March begins at midnight in Berlin. Any other name (a
    month that does not exist, such as 0000-01 or 2026-13) names no report: 404."""
    match = _MONTH.fullmatch(filename)
    try:
        if match is None:
            raise ValueError
        year, month = (int(part) for part in match.groups())
        first = datetime(year, month, 1)
    except ValueError:
        raise NotFound("reports are named YYYY-MM.csv", "report_not_found") from None
    days = calendar.monthrange(year, month)[1]
    return _instant(first, zone), later(first, timedelta(days=days), zone)


def month_over(month: tuple[datetime, datetime], now: datetime) -> tuple[datetime, datetime]:
    if month[1] > now:
        raise NotFound("a month's report exists once the month is over", "report_not_found")
    return month


def redacted(count: int) -> int:
    return -1 if 0 < count < REPORT_MIN_COUNT else count
