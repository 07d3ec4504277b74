"""The platform's records as MDS 2.0 JSON objects, in the spec's words; every object names
the provider that answers."""

from typing import Any

from rental.domain import mds
from rental.domain.mds import MDS_EVENT, gps, timestamp
from rental.domain.zones import Parking
from rental.services.mds import LiveEvent, VehicleStatus
from rental.services.read_models import (
    TelemetryRecord,
    TripRecord,
    VehicleEventRecord,
    VehicleRecord,
)

# Our parking verdict as MDS's category; an unknown position says nothing.
PARKING_CATEGORY = {
    Parking.OK: "other_valid",
    Parking.OUTSIDE_SERVICE_AREA: "invalid",
    Parking.NO_PARKING_ZONE: "invalid",
}


def vehicle(provider_id: str, record: VehicleRecord) -> dict[str, Any]:
    return {
        "device_id": str(record.id),
        "provider_id": provider_id,
        "vehicle_id": record.code,
        "vehicle_type": mds.VEHICLE_TYPE[record.kind],
        "propulsion_types": mds.PROPULSION[record.kind],
    }


def vehicle_status(provider_id: str, status: VehicleStatus) -> dict[str, Any]:
    last_event = status.last_event
    return {
        "device_id": str(status.vehicle.id),
        "provider_id": provider_id,
        "last_event": event(provider_id, last_event)
        if isinstance(last_event, VehicleEventRecord)
        else _live_event(provider_id, status, last_event),
        "last_telemetry": telemetry(provider_id, status.last_telemetry),
    }


def _live_event(provider_id: str, status: VehicleStatus, live: LiveEvent) -> dict[str, Any]:
    vehicle_now = status.vehicle
    made: dict[str, Any] = {
        "device_id": str(vehicle_now.id),
        "provider_id": provider_id,
        "event_id": str(live.id),
        "vehicle_state": live.vehicle_state,
        "event_types": [live.event_type],
        "timestamp": timestamp(live.at),
        "location": gps(vehicle_now.lon, vehicle_now.lat),
    }
    if vehicle_now.battery_pct is not None:
        made["battery_percent"] = vehicle_now.battery_pct
    if vehicle_now.rental_id is not None:
        made["trip_ids"] = [str(vehicle_now.rental_id)]
    return made


def event(provider_id: str, logged: VehicleEventRecord) -> dict[str, Any]:
    state, event_type = MDS_EVENT[logged.kind]
    made: dict[str, Any] = {
        "device_id": str(logged.asset_id),
        "provider_id": provider_id,
        "event_id": str(logged.id),
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": timestamp(logged.at),
        "publication_time": timestamp(logged.recorded_at),
        "location": gps(logged.lon, logged.lat),
    }
    if logged.battery_pct is not None:
        made["battery_percent"] = logged.battery_pct
    if logged.rental_id is not None:
        made["trip_ids"] = [str(logged.rental_id)]
    return made


def trip(provider_id: str, record: TripRecord) -> dict[str, Any]:
    duration = int((record.ended_at - record.started_at).total_seconds())
    made: dict[str, Any] = {
        "provider_id": provider_id,
        "device_id": str(record.asset_id),
        "trip_id": str(record.id),
        "trip_type": ["rider"],
        "start_time": timestamp(record.started_at),
        "end_time": timestamp(record.ended_at),
        "start_location": gps(record.start_lon, record.start_lat),
        "end_location": gps(record.end_lon, record.end_lat),
        "duration": max(0, duration),
        "distance": round(record.distance_m or 0),
        "standard_cost": record.fare_minor,
        "actual_cost": record.fare_minor,
        "currency": record.currency,
    }
    category = PARKING_CATEGORY.get(record.parking) if record.parking else None
    if category is not None:
        made["parking_category"] = category
    return made


def telemetry(provider_id: str, record: TelemetryRecord) -> dict[str, Any]:
    fix = record.fix
    made: dict[str, Any] = {
        "device_id": str(record.asset_id),
        "provider_id": provider_id,
        "telemetry_id": mds.telemetry_id(fix.lock_id, fix.boot, fix.seq),
        "timestamp": timestamp(fix.recorded_at),
        "trip_ids": [str(record.rental_id)] if record.rental_id else None,
        "journey_id": None,
        "location": gps(fix.lon, fix.lat, fix.accuracy_m),
    }
    if fix.battery_pct is not None:
        made["battery_percent"] = fix.battery_pct
    return made
