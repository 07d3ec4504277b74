"""The MDS 2.0 provider API of one city: what its token may read, as the spec shapes it.

Hours are served once they are over and a settling delay has passed (a lock that was
out of reach reports its trip's end when it reconnects); before that MDS asks for 202.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rental.domain import mds
from rental.domain.errors import NotAuthenticated, NotFound
from rental.domain.fleet import ServicePolicy, is_low, is_reachable
from rental.domain.mds import MDS_EVENT, gps, timestamp
from rental.domain.zones import Parking
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


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]  # MDS JSON objects, as the spec shapes them
    next_after: str | None  # the cursor of the next page; None on the last


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
) -> Page:
    with uow:
        found = uow.vehicle_history.vehicles(provider.city_id, page.after, page.limit, device_id)
    return Page([_vehicle(provider, vehicle) for vehicle in found], _next(found, page.limit))


def _vehicle(provider: Provider, vehicle: VehicleRecord) -> dict[str, Any]:
    return {
        "device_id": str(vehicle.id),
        "provider_id": provider.provider_id,
        "vehicle_id": vehicle.code,
        "vehicle_type": mds.VEHICLE_TYPE[vehicle.kind],
        "propulsion_types": mds.PROPULSION[vehicle.kind],
    }


def vehicle_statuses(
    uow: UnitOfWork, provider: Provider, page: MdsPage, device_id: uuid.UUID | None
) -> Page:
    with uow:
        found = uow.vehicle_history.statuses(
            provider.city_id, page.after, page.limit, device_id, provider.now
        )
    items = [
        {
            "device_id": str(vehicle.id),
            "provider_id": provider.provider_id,
            "last_event": _last_event(provider, vehicle),
            "last_telemetry": _last_telemetry(provider, vehicle),
        }
        for vehicle in found
    ]
    return Page(items, _next(found, page.limit))


def _last_event(provider: Provider, vehicle: VehicleStatusRecord) -> dict[str, Any]:
    """The vehicle's last recorded event when it still says how the vehicle is; otherwise
    (a lock gone silent, a battery run down, vehicles older than their history) an event
    made now from what is true now."""
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
        return _event(provider, logged)
    since = _since(vehicle, state, policy.silence, now)
    event: dict[str, Any] = {
        "device_id": str(vehicle.id),
        "provider_id": provider.provider_id,
        "event_id": str(uuid.uuid5(vehicle.id, f"{state}/{since.isoformat()}")),
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": timestamp(since),
        "location": gps(vehicle.lon, vehicle.lat),
    }
    if vehicle.battery_pct is not None:
        event["battery_percent"] = vehicle.battery_pct
    if vehicle.rental_id is not None:
        event["trip_ids"] = [str(vehicle.rental_id)]
    return event


def _since(vehicle: VehicleStatusRecord, state: str, silence: timedelta, now: datetime) -> datetime:
    """When the vehicle became what it is now, as near as the data tells."""
    seen = vehicle.last_seen_at or now
    since = min(seen + silence, now) if state == "non_contactable" and vehicle.online else seen
    logged = vehicle.last_event
    return max(since, logged.at) if logged is not None else since


def _last_telemetry(provider: Provider, vehicle: VehicleStatusRecord) -> dict[str, Any]:
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
    return _telemetry(provider, TelemetryRecord(vehicle.id, vehicle.rental_id, fix))


# --- by the hour ------------------------------------------------------------------------


def served_hour(hour: Window, now: datetime, settle: timedelta) -> Window:
    """The hour asked for, once it is over and settled."""
    if hour[1] > now:
        raise NotFound("this hour is not over yet", "hour_not_past")
    if hour[1] + settle > now:
        raise NotReady()
    return hour


def trips(
    uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(hour, provider.now, settle)
    with uow:
        found = uow.vehicle_history.trips(provider.city_id, start, end)
    return [_trip(provider, trip) for trip in found]


def _trip(provider: Provider, trip: TripRecord) -> dict[str, Any]:
    duration = int((trip.ended_at - trip.started_at).total_seconds())
    record: dict[str, Any] = {
        "provider_id": provider.provider_id,
        "device_id": str(trip.asset_id),
        "trip_id": str(trip.id),
        "trip_type": ["rider"],
        "start_time": timestamp(trip.started_at),
        "end_time": timestamp(trip.ended_at),
        "start_location": gps(trip.start_lon, trip.start_lat),
        "end_location": gps(trip.end_lon, trip.end_lat),
        "duration": max(0, duration),
        "distance": round(trip.distance_m or 0),
        "standard_cost": trip.fare_minor,
        "actual_cost": trip.fare_minor,
        "currency": trip.currency,
    }
    category = PARKING_CATEGORY.get(trip.parking) if trip.parking else None
    if category is not None:
        record["parking_category"] = category
    return record


# Our parking verdict as MDS's category; an unknown position says nothing.
PARKING_CATEGORY = {
    Parking.OK: "other_valid",
    Parking.OUTSIDE_SERVICE_AREA: "invalid",
    Parking.NO_PARKING_ZONE: "invalid",
}


def telemetry(
    uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(hour, provider.now, settle)
    with uow:
        found = uow.vehicle_history.telemetry(provider.city_id, start, end)
    return [_telemetry(provider, record) for record in found]


def _telemetry(provider: Provider, record: TelemetryRecord) -> dict[str, Any]:
    fix = record.fix
    telemetry: dict[str, Any] = {
        "device_id": str(record.asset_id),
        "provider_id": provider.provider_id,
        "telemetry_id": mds.telemetry_id(fix.lock_id, fix.boot, fix.seq),
        "timestamp": timestamp(fix.recorded_at),
        "trip_ids": [str(record.rental_id)] if record.rental_id else None,
        "journey_id": None,
        "location": gps(fix.lon, fix.lat, fix.accuracy_m),
    }
    if fix.battery_pct is not None:
        telemetry["battery_percent"] = fix.battery_pct
    return telemetry


# --- events -----------------------------------------------------------------------------


def historical_events(
    uow: UnitOfWork, provider: Provider, hour: Window, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(hour, provider.now, settle)
    with uow:
        found = uow.vehicle_history.events(provider.city_id, start, end, None, None)
    return [_event(provider, event) for event in found]


def recent_events(uow: UnitOfWork, provider: Provider, window: Window, page: MdsPage) -> Page:
    start, end = mds.recent(window, provider.now)
    with uow:
        found = uow.vehicle_history.events(provider.city_id, start, end, page.after, page.limit)
    return Page([_event(provider, event) for event in found], _next(found, page.limit))


def _event(provider: Provider, logged: VehicleEventRecord) -> dict[str, Any]:
    state, event_type = MDS_EVENT[logged.kind]
    event: dict[str, Any] = {
        "device_id": str(logged.asset_id),
        "provider_id": provider.provider_id,
        "event_id": str(logged.id),
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": timestamp(logged.at),
        "publication_time": timestamp(logged.recorded_at),
        "location": gps(logged.lon, logged.lat),
    }
    if logged.battery_pct is not None:
        event["battery_percent"] = logged.battery_pct
    if logged.rental_id is not None:
        event["trip_ids"] = [str(logged.rental_id)]
    return event


# --- reports ----------------------------------------------------------------------------


def monthly_report(uow: UnitOfWork, provider: Provider, month: Window) -> str:
    """Rides and riders per vehicle type for a month that is over, as MDS's CSV. We keep
    no special groups of riders, so every row is `all_riders`, citywide (no geography)."""
    start, end = mds.month_over(month, provider.now)
    with uow:
        types = {kind.value: name for kind, name in mds.VEHICLE_TYPE.items()}
        counts = uow.vehicle_history.trip_counts(provider.city_id, start, end, types)
    lines = [mds.REPORT_HEADER]
    for vehicle_type in sorted(set(mds.VEHICLE_TYPE.values())):
        trips_, riders = counts.get(vehicle_type, (0, 0))
        lines.append(
            f"{provider.provider_id},{start.date().isoformat()},P1M,all_riders,,"
            f"{vehicle_type},{mds.redacted(trips_)},{mds.redacted(riders)}"
        )
    return "\n".join(lines) + "\n"


# --- paging -----------------------------------------------------------------------------


def _next(
    found: Sequence[VehicleRecord | VehicleStatusRecord | VehicleEventRecord], limit: int
) -> str | None:
    return str(found[-1].id) if len(found) == limit else None
