"""The MDS 2.0 provider API of one city: what its token may read, as the spec shapes it.

Hours are served once they are over and a settling delay has passed (a lock that was
out of reach reports its trip's end when it reconnects); before that MDS asks for 202.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rental.domain import mds
from rental.domain.errors import InvalidInput, NotAuthenticated, NotFound
from rental.domain.fleet import AssetKind, ServicePolicy, is_low, is_reachable
from rental.domain.mds import VehicleEvent, gps, timestamp
from rental.domain.zones import Parking
from rental.services.unit_of_work import UnitOfWork

MAX_NAME = 200


@dataclass(frozen=True)
class Provider:
    """Who answers, for which city, under which rules."""

    provider_id: str
    city_id: str
    now: datetime
    policy: ServicePolicy


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None  # the cursor of the next page; None on the last


class NotReady(Exception):
    """The hour is over but may still change: the client should ask again later."""


# --- access -----------------------------------------------------------------------------


def register_client(uow: UnitOfWork, body: dict[str, Any]) -> tuple[uuid.UUID, str, str]:
    """A city (or its data contractor) gets a client; returns (id, city, name)."""
    city_id, name = body.get("city_id"), body.get("name")
    if not isinstance(city_id, str) or not city_id:
        raise InvalidInput("city_id is required", "invalid_city")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidInput(f"name says who the client is (1-{MAX_NAME} characters)")
    client_id = uuid.uuid4()
    with uow:
        if uow.cities.currency_of(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        uow.mds_clients.add(client_id, city_id, name.strip())
        uow.commit()
    return client_id, city_id, name.strip()


def revoke_client(uow: UnitOfWork, client_id: uuid.UUID, now: datetime) -> None:
    with uow:
        if not uow.mds_clients.revoke(client_id, now):
            raise NotFound("no such client, or revoked already", "client_not_found")
        uow.commit()


def clients(uow: UnitOfWork) -> list[dict[str, Any]]:
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
    uow: UnitOfWork, provider: Provider, after: str | None, limit: int, device_id: str | None
) -> Page:
    with uow:
        rows = uow.vehicle_history.vehicles(
            provider.city_id, _cursor(after), limit, _device(device_id)
        )
    items = [_vehicle(provider, row) for row in rows]
    return Page(items, _next(rows, limit))


def _vehicle(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    kind = AssetKind(row["kind"])
    return {
        "device_id": str(row["id"]),
        "provider_id": provider.provider_id,
        "vehicle_id": row["code"],
        "vehicle_type": mds.VEHICLE_TYPE[kind],
        "propulsion_types": mds.PROPULSION[kind],
    }


def vehicle_statuses(
    uow: UnitOfWork, provider: Provider, after: str | None, limit: int, device_id: str | None
) -> Page:
    with uow:
        rows = uow.vehicle_history.statuses(
            provider.city_id, _cursor(after), limit, _device(device_id), provider.now
        )
    items = [
        {
            "device_id": str(row["id"]),
            "provider_id": provider.provider_id,
            "last_event": _last_event(provider, row),
            "last_telemetry": _last_telemetry(provider, row),
        }
        for row in rows
    ]
    return Page(items, _next(rows, limit))


def _last_event(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    """The vehicle's last recorded event when it still says how the vehicle is; otherwise
    (a lock gone silent, a battery run down, a fleet older than its history) an event
    made now from what is true now."""
    policy, now = provider.policy, provider.now
    live = mds.LiveVehicle(
        on_trip=row["rental_id"] is not None,
        in_service=row["in_service"],
        reserved=row["reserved"],
        reachable=is_reachable(row["online"], row["last_seen_at"], now, policy.silence),
        damaged=row["damaged"],
        battery_low=is_low(row["battery_pct"], policy),
    )
    state, event_type = mds.live_state(live)
    logged = row["last_event"]
    if logged is not None and mds.MDS_EVENT[VehicleEvent(logged["kind"])][0] == state:
        return _event(provider, logged)
    since = _since(row, state, policy.silence, now)
    event: dict[str, Any] = {
        "device_id": str(row["id"]),
        "provider_id": provider.provider_id,
        "event_id": str(uuid.uuid5(row["id"], f"{state}/{since.isoformat()}")),
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": timestamp(since),
        "location": gps(row["lon"], row["lat"]),
    }
    if row["battery_pct"] is not None:
        event["battery_percent"] = row["battery_pct"]
    if row["rental_id"] is not None:
        event["trip_ids"] = [str(row["rental_id"])]
    return event


def _since(row: dict[str, Any], state: str, silence: timedelta, now: datetime) -> datetime:
    """When the vehicle became what it is now, as near as the data tells."""
    seen: datetime = row["last_seen_at"] or now
    since = min(seen + silence, now) if state == "non_contactable" and row["online"] else seen
    logged = row["last_event"]
    return max(since, logged["at"]) if logged is not None else since


def _last_telemetry(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    fix = row["last_fix"] or {  # located by an event, never by telemetry
        "lock_id": row["lock_id"],
        "boot": 0,
        "seq": 0,
        "recorded_at": row["last_seen_at"] or provider.now,
        "lon": row["lon"],
        "lat": row["lat"],
        "accuracy_m": None,
        "battery_pct": row["battery_pct"],
    }
    return _telemetry(provider, {**fix, "asset_id": row["id"], "rental_id": row["rental_id"]})


# --- by the hour ------------------------------------------------------------------------


def served_hour(
    value: str | None, name: str, now: datetime, settle: timedelta
) -> tuple[datetime, datetime]:
    """The hour asked for, once it is over and settled."""
    start, end = mds.hour_window(value, name)
    if end > now:
        raise NotFound("this hour is not over yet", "hour_not_past")
    if end + settle > now:
        raise NotReady()
    return start, end


def trips(
    uow: UnitOfWork, provider: Provider, end_time: str | None, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(end_time, "end_time", provider.now, settle)
    with uow:
        rows = uow.vehicle_history.trips(provider.city_id, start, end)
    return [_trip(provider, row) for row in rows]


def _trip(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    duration = int((row["ended_at"] - row["started_at"]).total_seconds())
    trip: dict[str, Any] = {
        "provider_id": provider.provider_id,
        "device_id": str(row["asset_id"]),
        "trip_id": str(row["id"]),
        "trip_type": ["rider"],
        "start_time": timestamp(row["started_at"]),
        "end_time": timestamp(row["ended_at"]),
        "start_location": gps(row["start_lon"], row["start_lat"]),
        "end_location": gps(row["end_lon"], row["end_lat"]),
        "duration": max(0, duration),
        "distance": round(row["distance_m"] or 0),
        "standard_cost": row["fare_minor"],
        "actual_cost": row["fare_minor"],
        "currency": row["currency"],
    }
    category = PARKING_CATEGORY.get(Parking(row["parking"])) if row["parking"] else None
    if category is not None:
        trip["parking_category"] = category
    return trip


# Our parking verdict as MDS's category; an unknown position says nothing.
PARKING_CATEGORY = {
    Parking.OK: "other_valid",
    Parking.OUTSIDE_SERVICE_AREA: "invalid",
    Parking.NO_PARKING_ZONE: "invalid",
}


def telemetry(
    uow: UnitOfWork, provider: Provider, telemetry_time: str | None, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(telemetry_time, "telemetry_time", provider.now, settle)
    with uow:
        rows = uow.vehicle_history.telemetry(provider.city_id, start, end)
    return [_telemetry(provider, row) for row in rows]


def _telemetry(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "device_id": str(row["asset_id"]),
        "provider_id": provider.provider_id,
        "telemetry_id": mds.telemetry_id(row["lock_id"], row["boot"], row["seq"]),
        "timestamp": timestamp(row["recorded_at"]),
        "trip_ids": [str(row["rental_id"])] if row["rental_id"] else None,
        "journey_id": None,
        "location": gps(row["lon"], row["lat"], row["accuracy_m"]),
    }
    if row["battery_pct"] is not None:
        record["battery_percent"] = row["battery_pct"]
    return record


# --- events -----------------------------------------------------------------------------


def historical_events(
    uow: UnitOfWork, provider: Provider, event_time: str | None, settle: timedelta
) -> list[dict[str, Any]]:
    start, end = served_hour(event_time, "event_time", provider.now, settle)
    with uow:
        rows = uow.vehicle_history.events(provider.city_id, start, end, None, None)
    return [_event(provider, row) for row in rows]


def recent_events(
    uow: UnitOfWork,
    provider: Provider,
    start_time: str | None,
    end_time: str | None,
    after: str | None,
    limit: int,
) -> Page:
    start, end = mds.recent_window(start_time, end_time, provider.now)
    with uow:
        rows = uow.vehicle_history.events(provider.city_id, start, end, _cursor(after), limit)
    return Page([_event(provider, row) for row in rows], _next(rows, limit))


def _event(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    state, event_type = mds.MDS_EVENT[VehicleEvent(row["kind"])]
    event: dict[str, Any] = {
        "device_id": str(row["asset_id"]),
        "provider_id": provider.provider_id,
        "event_id": str(row["id"]),
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": timestamp(row["at"]),
        "publication_time": timestamp(row["recorded_at"]),
        "location": gps(row["lon"], row["lat"]),
    }
    if row["battery_pct"] is not None:
        event["battery_percent"] = row["battery_pct"]
    if row["rental_id"] is not None:
        event["trip_ids"] = [str(row["rental_id"])]
    return event


# --- reports ----------------------------------------------------------------------------


def monthly_report(uow: UnitOfWork, provider: Provider, filename: str) -> str:
    """Rides and riders per vehicle type for a month that is over, as MDS's CSV. We keep
    no special groups of riders, so every row is `all_riders`, citywide (no geography)."""
    start, end = mds.month_window(filename, provider.now)
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


def _cursor(after: str | None) -> uuid.UUID | None:
    if after is None:
        return None
    try:
        return uuid.UUID(after)
    except ValueError:
        raise InvalidInput("page_after is a cursor from a links.next URL", "bad_param") from None


def _device(device_id: str | None) -> uuid.UUID | None:
    if device_id is None:
        return None
    try:
        return uuid.UUID(device_id)
    except ValueError:
        raise InvalidInput("device_id is a UUID", "bad_param") from None


def _next(rows: list[dict[str, Any]], limit: int) -> str | None:
    return str(rows[-1]["id"]) if len(rows) == limit else None
