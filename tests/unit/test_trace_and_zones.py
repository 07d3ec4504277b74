"""Trip traces and parking verdicts, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import InvalidInput
from rental.domain.trace import Fix, end_position, good_fixes, speed_samples
from rental.domain.zones import Parking, ZoneKind, parking_verdict, zones_from_geojson

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
STEP = 0.0005  # about 48 m of longitude at 31°N


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
