"""The MDS 2.0 provider API of one city: what its token may read, as the spec shapes it.

Hours are served once they are over and a settling delay has passed (a lock that was
out of reach reports its trip's end when it reconnects); before that MDS asks for 202.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from rental.domain import mds
from rental.domain.errors import InvalidInput, NotAuthenticated, NotFound, RentalError
from rental.domain.fleet import ServicePolicy, is_low, is_reachable
from rental.domain.mds import MDS_EVENT
from rental.services.commands.open_data import MdsPage, RegisterMdsClient
from rental.services.read_models import (
    LockFix,
    MdsClient,
    TelemetryRecord,
    TripRecord,
    VehicleEventRecord,
    VehicleRecord,
    VehicleStatusRecord,
)
from rental.services.unit_of_work import UnitOfWork

Window = tuple[datetime, datetime]  # [start, end)


@dataclass(frozen=True)
class Provider:
    """Who answers, for which city, under which rules."""

    provider_id: str
    city_id: str
    now: datetime
    policy: ServicePolicy


Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_after: str | None  # the cursor of the next page; None on the last


@dataclass(frozen=True)
class LiveEvent:
    """An event made now from what is true now, where the vehicle's last logged event no
    longer says how it is (a lock gone silent, a battery run down, a vehicle older than
    its history)."""

    id: uuid.UUID
    vehicle_state: str  # MDS's
    event_type: str  # MDS's
    at: datetime  # when the vehicle became so, as near as the data tells


@dataclass(frozen=True)
class VehicleStatus:
    vehicle: VehicleStatusRecord
    last_event: VehicleEventRecord | LiveEvent
    last_telemetry: TelemetryRecord


class NotReady(Exception):
    """The hour is over but may still change: the client should ask again later."""


# --- access -----------------------------------------------------------------------------


def register_client(uow: UnitOfWork, command: RegisterMdsClient) -> uuid.UUID:
    """A city (or its data contractor) gets a client."""
    client_id = uuid.uuid4()
    with uow:
        if uow.cities.currency_of(command.city_id) is None:
            raise NotFound(f"no city {command.city_id}", "city_not_found")
        uow.mds_clients.add(client_id, command.city_id, command.name)
        uow.commit()
    return client_id


def revoke_client(uow: UnitOfWork, client_id: uuid.UUID, now: datetime) -> None:
    with uow:
        if not uow.mds_clients.revoke(client_id, now):
            raise NotFound("no such client, or revoked already", "client_not_found")
        uow.commit()


def clients(uow: UnitOfWork) -> list[MdsClient]:
    with uow:
        return uow.mds_clients.listing()


def city_of_client(uow: UnitOfWork, client_id: uuid.UUID) -> str:
    with uow:
        city_id = uow.mds_clients.city_of(client_id)
    if city_id is None:
        raise NotAuthenticated("this token has been revoked", "token_revoked")
    return city_id


# --- vehicles ---------------------------------------------------------------------------


def vehicles(
    uow: UnitOfWork, provider: Provider, page: MdsPage, device_id: uuid.UUID | None
) -> Page[VehicleRecord]:
    with uow:
        found = uow.vehicle_history.vehicles(provider.city_id, page.after, page.limit, device_id)
    return Page(found, _next(found, page.limit))


def vehicle_statuses(
    uow: UnitOfWork, provider: Provider, page: MdsPage, device_id: uuid.UUID | None
) -> Page[VehicleStatus]:
    with uow:
        found = uow.vehicle_history.statuses(
            provider.city_id, page.after, page.limit, device_id, provider.now
        )
    statuses = [
        VehicleStatus(vehicle, _last_event(provider, vehicle), _last_telemetry(provider, vehicle))
        for vehicle in found
    ]
    return Page(statuses, _next(found, page.limit))


def _last_event(provider: Provider, vehicle: VehicleStatusRecord) -> VehicleEventRecord | LiveEvent:
    """The vehicle's last logged event while it still says how the vehicle is; otherwise
    one made now from what is true now."""
    policy, now = provider.policy, provider.now
    live = mds.LiveVehicle(
        on_trip=vehicle.rental_id is not None,
        in_service=vehicle.in_service,
        reserved=vehicle.reserved,
        reachable=is_reachable(vehicle.online, vehicle.last_seen_at, now, policy.silence),
        damaged=vehicle.damaged,
        battery_low=is_low(vehicle.battery_pct, policy),
    )
    state, event_type = mds.live_state(live)
    logged = vehicle.last_event
    if logged is not None and MDS_EVENT[logged.kind][0] == state:
        return logged
    since = _since(vehicle, state, policy.silence, now)
    event_id = uuid.uuid5(vehicle.id, f"{state}/{since.isoformat()}")
    return LiveEvent(event_id, state, event_type, since)


def _since(vehicle: VehicleStatusRecord, state: str, silence: timedelta, now: datetime) -> datetime:
    """When the vehicle became what it is now, as near as the data tells."""
    seen = vehicle.last_seen_at or now
    since = min(seen + silence, now) if state == "non_contactable" and vehicle.online else seen
    logged = vehicle.last_event
    return max(since, logged.at) if logged is not None else since


def _last_telemetry(provider: Provider, vehicle: VehicleStatusRecord) -> TelemetryRecord:
    fix = vehicle.last_fix or LockFix(  # located by an event, never by telemetry
        lock_id=vehicle.lock_id,
        boot=0,
        seq=0,
        recorded_at=vehicle.last_seen_at or provider.now,
        lon=vehicle.lon,
        lat=vehicle.lat,
        accuracy_m=None,
        battery_pct=vehicle.battery_pct,
    )
    return TelemetryRecord(vehicle.id, vehicle.rental_id, fix)


# --- by the hour ------------------------------------------------------------------------


def served_hour(
    hour: Window, now: datetime, settle: timedelta, not_over: type[RentalError] = NotFound
) -> Window:
    """The hour asked for, once it is over and settled. An hour not over yet raises
    `not_over` (`hour_not_past`): MDS answers 404 for trips and events."""
    if hour[1] > now:
        raise not_over("this hour is not over yet", "hour_not_past")
    if hour[1] + settle > now:
        raise NotReady()
    return hour


def trips(uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta) -> list[TripRecord]:
    start, end = served_hour(hour, provider.now, settle)
    with uow:
        return uow.vehicle_history.trips(provider.city_id, start, end)


def telemetry(
    uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta
) -> list[TelemetryRecord]:
    """MDS 2.0 gives /telemetry no 404 (its answers are 200, 400, 401, 406 and 500): an
    hour not over yet is a bad `telemetry_time`, 400."""
    start, end = served_hour(hour, provider.now, settle, not_over=InvalidInput)
    with uow:
        return uow.vehicle_history.telemetry(provider.city_id, start, end)


# --- events -----------------------------------------------------------------------------


def historical_events(
    uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta
) -> list[VehicleEventRecord]:
    start, end = served_hour(hour, provider.now, settle)
    with uow:
        return uow.vehicle_history.events(provider.city_id, start, end, None, None)


def recent_events(
    uow: UnitOfWork, provider: Provider, window: Window, page: MdsPage
) -> Page[VehicleEventRecord]:
    start, end = mds.recent(window, provider.now)
    with uow:
        found = uow.vehicle_history.events(provider.city_id, start, end, page.after, page.limit)
    return Page(found, _next(found, page.limit))


# --- reports ----------------------------------------------------------------------------


def monthly_report(uow: UnitOfWork, provider: Provider, filename: str) -> str:
    """Rides and riders per vehicle type for a month that is over (`YYYY-MM.csv`, a month
    on the city's clock), as MDS's CSV. We keep no special groups of riders, so every row
    is `all_riders`, citywide (no geography). Raises NotFound `report_not_found`."""
    with uow:
        zone = ZoneInfo(uow.cities.timezone_of(provider.city_id) or "UTC")
        start, end = mds.month_window(filename, provider.now, zone)
        types = {kind.value: name for kind, name in mds.VEHICLE_TYPE.items()}
        counts = uow.vehicle_history.trip_counts(provider.city_id, start, end, types)
    lines = [mds.REPORT_HEADER]
    for vehicle_type in sorted(set(mds.VEHICLE_TYPE.values())):
        trips_, riders = counts.get(vehicle_type, (0, 0))
        lines.append(
            f"{provider.provider_id},{start.astimezone(zone).date().isoformat()},P1M,all_riders,,"
            f"{vehicle_type},{mds.redacted(trips_)},{mds.redacted(riders)}"
        )
    return "\n".join(lines) + "\n"


# --- paging -----------------------------------------------------------------------------


def _next(
    found: Sequence[VehicleRecord | VehicleStatusRecord | VehicleEventRecord], limit: int
) -> str | None:
    return str(found[-1].id) if len(found) == limit else None
