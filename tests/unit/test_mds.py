"""MDS rules that need no database: state mapping, time windows, reports, and the schema
reading the end-to-end tests rely on (which must still refuse what MDS refuses)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rental.domain import mds
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.mds import MDS_EVENT, LiveVehicle, VehicleEvent, battery_change, live_state
from tests.mds_schemas import assert_valid_model

NOW = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
ID = str(uuid.uuid4())
FIT = LiveVehicle(
    on_trip=False, in_service=True, reserved=False, reachable=True, damaged=False, battery_low=False
)


def event(state: str, event_type: str, **extra: object) -> dict:
    return {
        "device_id": ID,
        "provider_id": ID,
        "event_id": ID,
        "vehicle_state": state,
        "event_types": [event_type],
        "timestamp": mds.timestamp(NOW),
        "location": mds.gps(121.47, 31.23),
        **extra,
    }


@pytest.mark.parametrize("ours", list(VehicleEvent))
def test_each_of_our_events_is_a_valid_micromobility_event(ours):
    state, event_type = MDS_EVENT[ours]
    assert_valid_model("event.yaml", event(state, event_type, trip_ids=[ID]))


def test_rebalancing_maps_onto_mds_2():
    assert MDS_EVENT[VehicleEvent.REBALANCE_PICK_UP] == ("removed", "rebalance_pick_up")
    assert MDS_EVENT[VehicleEvent.REBALANCE_DROP_OFF] == ("available", "provider_drop_off")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, ("available", "unspecified")),
        ({"battery_low": True}, ("non_operational", "battery_low")),
        ({"damaged": True, "battery_low": True}, ("non_operational", "maintenance")),
        ({"reachable": False, "damaged": True}, ("non_contactable", "comms_lost")),
        ({"reserved": True, "reachable": False}, ("reserved", "reservation_start")),
        ({"in_service": False, "reserved": True}, ("removed", "maintenance_pick_up")),
        ({"on_trip": True, "in_service": False}, ("on_trip", "trip_start")),
    ],
)
def test_the_live_state_puts_a_ride_first_then_operators_then_the_lock(change, expected):
    state = live_state(LiveVehicle(**{**FIT.__dict__, **change}))
    assert state == expected
    assert_valid_model("event.yaml", event(*state, trip_ids=[ID]))


def test_battery_events_only_when_the_charge_crosses_the_line():
    assert battery_change(20, 14, 15) is VehicleEvent.BATTERY_LOW
    assert battery_change(14, 15, 15) is VehicleEvent.BATTERY_CHARGED
    assert battery_change(20, 16, 15) is None
    assert battery_change(10, 5, 15) is None
    assert battery_change(None, 5, 15) is None


def test_an_hour_is_utc_and_exactly_one_hour_long():
    start, end = mds.hour_window("2026-11-23T07", "end_time")
    assert (start, end - start) == (datetime(2026, 11, 23, 7, tzinfo=UTC), timedelta(hours=1))
    for bad in (None, "", "2026-11-23", "2026-11-23T24", "2026-13-01T00", "2026-11-23T7"):
        with pytest.raises(InvalidInput):
            mds.hour_window(bad, "end_time")


def test_recent_events_reach_back_two_weeks_at_most():
    ms = mds.timestamp(NOW)
    first, last = mds.recent_window(str(ms - 60_000), str(ms), NOW)
    assert last - first == timedelta(minutes=1)
    too_old = mds.timestamp(NOW - timedelta(days=15))
    for start, end in ((str(ms), str(ms)), (str(too_old), str(ms)), ("x", str(ms)), (None, None)):
        with pytest.raises(InvalidInput):
            mds.recent_window(start, end, NOW)


def test_a_report_is_for_a_month_that_is_over():
    assert mds.month_window("2026-10.csv", NOW) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    for name in ("2026-11.csv", "2026-12.csv", "2026-13.csv", "2026-10.json", "latest.csv"):
        with pytest.raises(NotFound):
            mds.month_window(name, NOW)


def test_small_counts_are_hidden():
    assert [mds.redacted(n) for n in (0, 1, 9, 10, 250)] == [0, -1, -1, 10, 250]


# The schema reading must still refuse what MDS refuses: a test that cannot fail is none.
@pytest.mark.parametrize(
    "record",
    [
        event("available", "rebalance_pick_up"),  # not an event of that state
        event("parked", "trip_end", trip_ids=[ID]),  # no such state
        event("available", "trip_end", trip_ids=[]),
        event("available", "trip_end", trip_ids=[ID], location={"lat": 91, "lng": 0}),
    ],
)
def test_the_schemas_refuse_invalid_events(record):
    with pytest.raises(AssertionError):
        assert_valid_model("event.yaml", record)


def test_the_schemas_refuse_a_vehicle_of_another_mode():
    vehicle = {
        "device_id": ID,
        "provider_id": ID,
        "vehicle_id": "BK1",
        "vehicle_type": "bicycle",
        "propulsion_types": ["human"],
    }
    assert_valid_model("vehicle.yaml", vehicle)
    with pytest.raises(AssertionError):
        assert_valid_model(
            "vehicle.yaml", {**vehicle, "accessibility_attributes": ["wheelchair_accessible"]}
        )
