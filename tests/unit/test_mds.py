"""MDS rules that need no database: state mapping, time windows, reports, and the schema
reading the end-to-end tests rely on (which must still refuse what MDS refuses)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rental.api import mds_versions
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
    for bad in ("2026-11-23", "2026-11-23T24", "2026-13-01T00", "2026-11-23T7", "0000-01-01T00"):
        with pytest.raises(InvalidInput) as refused:
            mds.hour_window(bad, "end_time")
        assert refused.value.code == "bad_param", bad
    for absent in (None, ""):
        with pytest.raises(InvalidInput) as refused:
            mds.hour_window(absent, "end_time")
        assert refused.value.code == "missing_param"


def test_an_hour_is_written_in_ascii_digits():
    with pytest.raises(InvalidInput):
        mds.hour_window("\u0662\u0660\u0662\u0666-11-23T07", "end_time")  # Arabic-Indic 2026


def test_the_last_hour_we_can_represent_ends_at_the_end_of_time():
    start, end = mds.hour_window("9999-12-31T23", "end_time")
    assert start == datetime(9999, 12, 31, 23, tzinfo=UTC)
    assert end == mds.END_OF_TIME > start


def test_recent_events_reach_back_two_weeks_at_most():
    first, last = NOW - timedelta(minutes=1), NOW
    assert mds.recent((first, last), NOW) == (first, last)
    too_old = NOW - timedelta(days=15)
    for window in ((NOW, NOW - timedelta(milliseconds=1)), (too_old, NOW)):
        with pytest.raises(InvalidInput) as refused:
            mds.recent(window, NOW)
        assert refused.value.code == "bad_param"


def test_an_empty_window_of_recent_events_is_a_window():
    assert mds.recent((NOW, NOW), NOW) == (NOW, NOW)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1514764800000", datetime(2018, 1, 1, tzinfo=UTC)),
        ("1514764800000.0", datetime(2018, 1, 1, tzinfo=UTC)),
        ("1.5147648e12", datetime(2018, 1, 1, tzinfo=UTC)),
        ("253402300800000", mds.END_OF_TIME),  # the first millisecond of year 10000
        ("1e999999999", mds.END_OF_TIME),
        ("-1e999999999", mds.START_OF_TIME),
    ],
)
def test_a_timestamp_past_what_we_represent_is_cut_at_the_end_of_time(written, expected):
    assert mds.moment_at(mds.whole_milliseconds(written)) == expected


@pytest.mark.parametrize("written", ["1.5", "1e-99999999", "NaN", "Infinity", "x", ""])
def test_a_timestamp_is_a_whole_number_of_milliseconds(written):
    with pytest.raises(ValueError):
        mds.whole_milliseconds(written)


def test_a_report_is_for_a_month_that_is_over():
    assert mds.month_window("2026-10.csv", NOW) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    for name in ("2026-11.csv", "2026-12.csv", "2026-13.csv", "2026-10.json", "latest.csv"):
        with pytest.raises(NotFound):
            mds.month_window(name, NOW)


@pytest.mark.parametrize(
    "name", ["0000-01.csv", "9999-12.csv", "2026-00.csv", "\u0662\u0660\u0662\u0666-10.csv"]
)
def test_a_month_we_cannot_represent_or_that_does_not_exist_has_no_report(name):
    with pytest.raises(NotFound) as missing:
        mds.month_window(name, NOW)
    assert missing.value.code == "report_not_found"


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


# --- which version a client accepts ---------------------------------------------------

MDS_2 = "application/vnd.mds+json;version=2.0"
MDS_1 = "application/vnd.mds+json;version=1.0"


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",
        "application/json",  # never names MDS: the spec's fallback, our version
        MDS_2,
        f"{MDS_2}, {MDS_1}",
        f"{MDS_1}, {MDS_2}",
        f"{MDS_1};q=0.9, {MDS_2};q=0.5",
        f"{MDS_1}, */*;q=0.1",
        "application/vnd.mds+json",
        'application/vnd.mds+json; version="2.0"',
        "APPLICATION/VND.MDS+JSON;Version=2",
        "application/vnd.mds+json;version=2.0.0;charset=utf-8",
        "application/*",
    ],
)
def test_a_client_accepting_version_2_is_answered(accept):
    assert mds_versions.accepts_our_version(accept)


@pytest.mark.parametrize(
    "accept",
    [
        MDS_1,
        "application/vnd.mds+json;version=3.0",
        "application/vnd.mds+json;version=2.1",
        "application/vnd.mds+json;version=20",
        f"{MDS_1}, application/vnd.mds+json;version=3.0",
        f"{MDS_2};q=0",
        f"{MDS_2};q=0, */*",  # the most specific range decides
        f"{MDS_1}, application/json",
    ],
)
def test_a_client_accepting_no_version_we_speak_is_refused(accept):
    assert not mds_versions.accepts_our_version(accept)
