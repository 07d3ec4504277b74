"""Trip traces and parking verdicts, without a database."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from rental.domain.errors import InvalidInput
from rental.domain.trace import (
    Fix,
    end_position,
    ended_trace,
    good_fixes,
    is_jump,
    path_length_m,
    speed_samples,
)
from rental.domain.zones import Parking, ZoneKind, parking_verdict, zones_from_geojson

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
STEP = 0.0005  # about 48 m of longitude at 31°N
FAR_AWAY = 121.47 + 10.5  # about 1,000 km east


def lons(fixes):
    return [f.lon for f in fixes]


def a_ride(start=0):
    """Three fixes 10 s and 48 m apart: a bike's pace."""
    return [fix(start + 10 * n, 121.47 + n * STEP) for n in range(3)]


def fix(seconds, lon, lat=31.23, accuracy=None):
    return Fix(T0 + timedelta(seconds=seconds), lon, lat, accuracy)


def test_a_spike_and_an_inaccurate_fix_are_left_out_and_the_rest_kept_in_time_order():
    fixes = [fix(20, 121.47 + 2 * STEP), fix(0, 121.47), fix(10, 121.47 + STEP)]
    fixes += [fix(15, 121.60), fix(25, 121.47 + 3 * STEP, accuracy=120)]
    kept = good_fixes(fixes)
    assert [f.lon for f in kept] == pytest.approx([121.47, 121.47 + STEP, 121.47 + 2 * STEP])


def test_the_lock_position_is_trusted_unless_it_jumps_or_is_missing():
    path = [fix(0, 121.47), fix(10, 121.47 + STEP)]
    near = fix(12, 121.47 + STEP + 0.0001)
    assert end_position(path, near).doubt is None
    jumped = end_position(path, fix(12, 121.50))
    assert (jumped.lon, jumped.doubt is not None) == (121.47 + STEP, True)
    assert "no position" in end_position(path, None).doubt
    assert not end_position([], None).known


def test_a_last_fix_a_thousand_km_away_is_left_out_of_the_path_and_the_end_is_in_doubt():
    leap = fix(30, FAR_AWAY)
    good = good_fixes([*a_ride(), leap])
    assert lons(good) == pytest.approx(lons(a_ride()))
    assert path_length_m(good) == pytest.approx(path_length_m(a_ride()))
    assert 90 < path_length_m(good) < 100

    # The lock closes where the ride went: the trip ends there, but the leap leaves a doubt.
    beside = fix(31, 121.47 + 2 * STEP + 0.0001)
    trace = ended_trace([*a_ride(), leap], beside)
    assert lons(trace.good) == pytest.approx(lons(a_ride()))
    assert (trace.end.lon, trace.end.lat) == (beside.lon, beside.lat)
    assert "last GPS fix jumped" in trace.end.doubt
    verdict = parking_verdict(False, set(), doubtful=trace.end.doubt is not None)
    assert not verdict.charge_fee

    # The lock closes where the leap went, or says nothing: the last good fix, in doubt.
    for reported in (fix(31, FAR_AWAY), None):
        end = ended_trace([*a_ride(), leap], reported).end
        assert end.lon == pytest.approx(121.47 + 2 * STEP)
        assert "last GPS fix jumped" in end.doubt and "last good fix" in end.doubt


def test_a_last_fix_left_out_as_a_jump_leaves_the_end_in_doubt_however_plausible_the_lock():
    good = good_fixes([*a_ride(), fix(30, FAR_AWAY)])
    end = end_position(good, fix(31, 121.47 + 2 * STEP), last_fix_jumped=True)
    assert end.doubt is not None and end.lon == pytest.approx(121.47 + 2 * STEP)


def test_two_fixes_alone_are_settled_by_where_the_lock_closed():
    ride = [fix(0, 121.47), fix(10, FAR_AWAY)]
    assert lons(good_fixes(ride)) == [121.47, FAR_AWAY]  # either could be the wrong one
    trace = ended_trace(ride, fix(11, 121.47 + 0.0001))
    assert lons(trace.good) == [121.47]
    assert trace.end.lon == 121.47 + 0.0001 and trace.end.doubt is not None


def test_a_first_fix_that_jumps_is_left_out_of_the_path():
    stale = fix(0, FAR_AWAY)  # e.g. where the lock last had a fix before it woke
    good = good_fixes([stale, *a_ride(start=10)])
    assert lons(good) == pytest.approx(lons(a_ride()))
    trace = ended_trace([stale, *a_ride(start=10)], fix(40, 121.47 + 2 * STEP))
    assert lons(trace.good) == pytest.approx(lons(a_ride()))
    assert trace.end.doubt is None  # a doubtful start says nothing about the end


def test_a_fast_but_straight_path_is_kept_whole():
    # A replayed route: some 450 m a second, every step a jump, but one after the other.
    route = [(121.470, 31.230), (121.474, 31.232), (121.478, 31.236), (121.482, 31.238)]
    replay = [fix(n, lon, lat) for n, (lon, lat) in enumerate(route)]
    assert all(is_jump(a, b) for a, b in pairwise(replay))
    assert [(f.lon, f.lat) for f in good_fixes(replay)] == route
    trace = ended_trace(replay, fix(4, *route[-1]))
    assert [(f.lon, f.lat) for f in trace.good] == route
    assert trace.end.doubt is None
    # The replay then turns off the route and parks: a place it may be charged for.
    parked = [*route, (121.4803, 31.2385), (121.4806, 31.2388)]
    replay = [fix(n, lon, lat) for n, (lon, lat) in enumerate(parked)]
    trace = ended_trace(replay, fix(len(parked), *parked[-1]))
    assert [(f.lon, f.lat) for f in trace.good] == parked
    assert trace.end.doubt is None


def test_a_locked_position_that_jumps_from_the_last_good_fix_is_in_doubt():
    trace = ended_trace(a_ride(), fix(21, 121.50))
    assert lons(trace.good) == pytest.approx(lons(a_ride()))
    assert trace.end.lon == pytest.approx(121.47 + 2 * STEP)
    assert "jumped" in trace.end.doubt


def test_a_leap_is_no_speed_but_a_steady_ride_is():
    samples = speed_samples([fix(0, 121.47), fix(10, 121.47 + STEP), fix(20, 121.60)])
    assert [round(s.speed_kph) for s in samples] == [17]


@pytest.mark.parametrize(
    ("inside", "kinds", "doubtful", "parking", "fee"),
    [
        (True, set(), False, Parking.OK, False),
        (True, {ZoneKind.SLOW, ZoneKind.PARKING}, False, Parking.OK, False),
        (False, set(), False, Parking.OUTSIDE_SERVICE_AREA, True),
        (True, {ZoneKind.NO_RIDE}, False, Parking.NO_PARKING_ZONE, True),
        (True, {ZoneKind.NO_PARKING}, True, Parking.NO_PARKING_ZONE, False),
    ],
)
def test_where_a_trip_ends_decides_the_fee(inside, kinds, doubtful, parking, fee):
    verdict = parking_verdict(inside, kinds, doubtful)
    assert (verdict.parking, verdict.charge_fee) == (parking, fee)
    assert verdict.needs_retrieval is (parking is not Parking.OK)


def test_a_zone_file_must_be_polygons_of_known_kinds():
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    good = {"type": "Polygon", "coordinates": [ring]}
    feature = {"type": "Feature", "geometry": good, "properties": {"kind": "parking"}}
    [zone] = zones_from_geojson({"type": "FeatureCollection", "features": [feature]})
    assert zone.kind is ZoneKind.PARKING and zone.name == "parking 0"
    for broken in (
        {**feature, "geometry": {"type": "Point", "coordinates": [0, 0]}},
        {**feature, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
        {
            **feature,
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [0, 1], [0, 0]]]},
        },
    ):
        with pytest.raises(InvalidInput):
            zones_from_geojson({"type": "FeatureCollection", "features": [broken]})
