"""Where trips may end, on PostGIS: the service area, no-parking zones, doubtful GPS,
spikes in the trace, and speeding in slow zones."""

import json
from dataclasses import replace

import pytest
from shapely.geometry import shape

from rental.adapters.locks.protocol import Event, EventType, Telemetry
from rental.adapters.locks.reports import event_reported, telemetry_reported
from rental.bootstrap import utc_now
from rental.domain.errors import InvalidInput
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.rentals import RentalState
from rental.domain.zones import Parking, zones_from_geojson
from rental.services import lock_events as reports
from rental.services import zones
from rental.services.commands.city import FindSpeeding, ImportZones
from rental.services.open_data import geofencing
from tests.conftest import new_lock_id
from tests.helpers import BIKE_PRICE, ago, make_city, ms, started_rental, unlock

CITY = "zonecity"
FEE = 500
WEST, EAST, SOUTH, NORTH = 121.46, 121.48, 31.22, 31.24
NO_PARKING = (121.470, 31.230, 121.472, 31.232)  # west, south, east, north
SLOW = (121.474, 31.220, 121.478, 31.240)
NO_RIDE = (121.461, 31.221, 121.463, 31.223)
# About 2 m at this latitude, well above PostGIS's precision and well below GPS noise.
A_FEW_METRES = 0.00002


def box(west, south, east, north):
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(kind, geometry, **properties):
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"kind": kind, "name": kind, **properties},
    }


CITY_MAP = {
    "type": "FeatureCollection",
    "features": [
        feature("service_area", box(WEST, SOUTH, EAST, NORTH)),
        feature("no_parking", box(*NO_PARKING)),
        feature("slow", box(*SLOW), max_speed_kph=10),
        feature("no_ride", box(*NO_RIDE)),
    ],
}


@pytest.fixture
def city(platform):
    make_city(platform, CITY, replace(BIKE_PRICE, out_of_zone_fee_minor=FEE))
    zones.import_zones(platform.uow(), ImportZones(CITY, zones_from_geojson(CITY_MAP)))
    return CITY


def ride_and_lock(platform, fixes, locked_at, accuracy=None):
    """A trip whose lock reports `fixes` (lon, lat, seconds ago) then locks at `locked_at`."""
    lock_id = new_lock_id()
    rider, rental, _ = started_rental(platform, lock_id, city=CITY)
    unlock(platform, lock_id, rental, seconds_ago=55)
    for seq, (lon, lat, age) in enumerate(fixes, start=2):
        fix = Telemetry(1, seq, ms(ago(age)), lon, lat, locked=False, accuracy_m=accuracy)
        reports.handle_telemetry(platform.uow(), telemetry_reported(lock_id, fix, utc_now()))
    lon, lat = locked_at if locked_at else (None, None)
    closing = Event(1, 99, ms(ago(1)), EventType.LOCKED, lon=lon, lat=lat)
    reports.handle_event(platform.uow(), event_reported(lock_id, closing, utc_now()))
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        asset = uow.connection.exec_driver_sql(
            "SELECT needs_retrieval FROM assets WHERE id = %(id)s", {"id": rental.asset_id}
        ).scalar()
        score = uow.credit.score(rider.id)
        wallet = uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))
    assert ended.state is RentalState.ENDED
    return ended, asset, score, wallet


def test_a_trip_ending_just_inside_the_service_area_ends_normally(platform, city):
    ended, needs_retrieval, score, wallet = ride_and_lock(
        platform, [(EAST - 0.001, 31.23, 30)], (EAST - A_FEW_METRES, 31.23)
    )
    assert ended.parking is Parking.OK
    assert ended.out_of_zone_fee_minor == 0
    assert ended.fare_minor == 150
    assert wallet == 1000 - 150
    assert not needs_retrieval
    assert score == 602  # a clean ride


def test_a_trip_ending_just_outside_the_service_area_pays_the_fee_and_is_flagged(platform, city):
    ended, needs_retrieval, score, wallet = ride_and_lock(
        platform, [(EAST - 0.0005, 31.23, 30)], (EAST + A_FEW_METRES, 31.23)
    )
    assert ended.parking is Parking.OUTSIDE_SERVICE_AREA
    assert ended.out_of_zone_fee_minor == FEE
    assert ended.fare_minor == 150 + FEE
    assert wallet == 1000 - 150 - FEE
    assert needs_retrieval
    assert score == 590  # a parking violation, and no clean-ride bonus
    assert "outside the service area" in ended.parking_message


def test_a_trip_ending_in_a_no_parking_zone_pays_the_fee(platform, city):
    inside = (NO_PARKING[0] + A_FEW_METRES, NO_PARKING[1] + A_FEW_METRES)
    ended, needs_retrieval, _, _ = ride_and_lock(platform, [(121.469, 31.229, 20)], inside)
    assert ended.parking is Parking.NO_PARKING_ZONE
    assert ended.fare_minor == 150 + FEE
    assert needs_retrieval


def test_a_trip_ending_just_outside_a_no_parking_zone_ends_normally(platform, city):
    beside = (NO_PARKING[0] - A_FEW_METRES, NO_PARKING[1] + 0.001)
    ended, needs_retrieval, _, _ = ride_and_lock(platform, [(121.469, 31.231, 20)], beside)
    assert ended.parking is Parking.OK
    assert ended.fare_minor == 150
    assert not needs_retrieval


def test_a_gps_jump_at_the_end_uses_the_last_good_fix_and_charges_no_fee(platform, city):
    # The last good fix is in the no-parking zone; the lock then claims to be 5 km away.
    in_no_parking = (121.471, 31.231)
    ended, needs_retrieval, score, wallet = ride_and_lock(
        platform, [(121.4705, 31.2305, 20), (*in_no_parking, 10)], (121.53, 31.23)
    )
    assert ended.parking is Parking.NO_PARKING_ZONE
    assert "jumped" in ended.position_doubt
    assert ended.out_of_zone_fee_minor == 0
    assert ended.fare_minor == 150
    assert wallet == 1000 - 150
    assert needs_retrieval  # staff check where it really is
    assert score == 602  # no violation on a doubtful position
    with platform.uow() as uow:
        end = uow.connection.exec_driver_sql(
            "SELECT ST_X(end_position), ST_Y(end_position) FROM rentals WHERE id = %(id)s",
            {"id": ended.id},
        ).one()
    assert tuple(end) == pytest.approx(in_no_parking)


def test_a_lock_without_any_position_is_never_charged_a_fee(platform, city):
    ended, _, _, wallet = ride_and_lock(platform, [], None)
    assert ended.parking is Parking.UNKNOWN
    assert ended.fare_minor == 150
    assert wallet == 850


def test_inaccurate_fixes_do_not_decide_where_a_trip_ended(platform, city):
    # Every fix is accurate only to 200 m; the lock's own position is outside the area.
    ended, _, _, wallet = ride_and_lock(
        platform, [(121.465, 31.23, 20)], (EAST + 0.01, 31.23), accuracy=200
    )
    assert ended.parking is Parking.OUTSIDE_SERVICE_AREA
    assert ended.out_of_zone_fee_minor == FEE  # the lock's report itself was plausible
    assert wallet == 1000 - 150 - FEE


def test_a_spike_in_the_trace_is_left_out_of_the_path_and_the_distance(platform, city):
    path = [(121.4650, 31.2300, 40), (121.4660, 31.2300, 30), (121.4670, 31.2300, 20)]
    spike = (121.5000, 31.2600, 25)  # 4 km away for five seconds
    ended, _, _, _ = ride_and_lock(platform, [*path, spike], (121.4670, 31.2300))
    with platform.uow() as uow:
        trace = uow.rentals.trace_geojson(ended.id)
    assert "121.5" not in trace
    assert 180 < ended.distance_m < 200  # two 95 m legs


def test_speeding_through_a_slow_zone_is_recorded_for_the_operator(platform, city):
    # 0.0009° of latitude, 100 m, in 10 s is 36 km/h; the limit there is 10 km/h.
    fixes = [(121.4750, 31.2205, 40), (121.4750, 31.2214, 30), (121.4750, 31.2223, 20)]
    ended, _, _, _ = ride_and_lock(platform, fixes, (121.4750, 31.2223))
    found = zones.speeding_in(platform.uow(), FindSpeeding(CITY, ago(3600)))
    assert {row.rental_id for row in found} == {ended.id}
    assert [round(row.speed_kph) for row in found] == [36, 36]
    assert all(row.max_speed_kph == 10 for row in found)
    assert all(row.zone_name == "slow" for row in found)


def test_a_leap_in_the_trace_through_a_slow_zone_is_not_speeding(platform, city):
    # 2.1 km in 10 s, all inside the zone: a gap in the trace, not a rider at 760 km/h.
    fixes = [(121.4750, 31.2205, 40), (121.4750, 31.2395, 30), (121.4750, 31.2396, 20)]
    ride_and_lock(platform, fixes, (121.4750, 31.2396))
    assert zones.speeding_in(platform.uow(), FindSpeeding(CITY, ago(3600))) == []


def test_riding_through_a_no_ride_zone_is_recorded_at_any_speed(platform, city):
    fixes = [(121.4600, 31.2220, 40), (121.4620, 31.2220, 10), (121.4640, 31.2220, 5)]
    ride_and_lock(platform, fixes, (121.4640, 31.2220))
    [found] = zones.speeding_in(platform.uow(), FindSpeeding(CITY, ago(3600)))
    assert (found.zone_name, found.max_speed_kph) == ("no_ride", 0)


def test_riding_slowly_through_a_slow_zone_records_nothing(platform, city):
    fixes = [(121.4750, 31.2210, 40), (121.4750, 31.2211, 30), (121.4750, 31.2212, 20)]
    ride_and_lock(platform, fixes, (121.4750, 31.2212))
    assert zones.speeding_in(platform.uow(), FindSpeeding(CITY, ago(3600))) == []


def test_zones_export_as_they_were_imported(platform, city):
    exported = zones.zones_of(platform.uow(), CITY)
    kinds = sorted(f["properties"]["kind"] for f in exported["features"])
    assert kinds == ["no_parking", "no_ride", "service_area", "slow"]
    slow = next(f for f in exported["features"] if f["properties"]["kind"] == "slow")
    assert slow["properties"]["max_speed_kph"] == 10
    assert slow["geometry"]["type"] == "MultiPolygon"
    assert slow["geometry"]["coordinates"][0] == box(*SLOW)["coordinates"]
    # Importing the export gives the same map back.
    zones.import_zones(platform.uow(), ImportZones(CITY, zones_from_geojson(exported)))
    again = zones.zones_of(platform.uow(), CITY)
    assert [f["geometry"] for f in again["features"]] == [
        f["geometry"] for f in exported["features"]
    ]


def _wound_clockwise(west, south, east, north):
    return [[west, south], [west, north], [east, north], [east, south], [west, south]]


def _right_hand(geometry):
    """Every outer ring counterclockwise and every hole clockwise (RFC 7946 3.1.6)."""
    for polygon in shape(geometry).geoms:
        if not polygon.exterior.is_ccw or any(hole.is_ccw for hole in polygon.interiors):
            return False
    return True


def test_a_clockwise_zone_with_a_hole_is_served_under_the_right_hand_rule(platform):
    make_city(platform, "windcity", BIKE_PRICE)
    outer = _wound_clockwise(121.40, 31.20, 121.50, 31.30)
    hole = list(reversed(_wound_clockwise(121.44, 31.24, 121.46, 31.26)))  # wound against it
    exported = {
        "type": "FeatureCollection",
        "features": [feature("no_parking", {"type": "Polygon", "coordinates": [outer, hole]})],
    }
    zones.import_zones(platform.uow(), ImportZones("windcity", zones_from_geojson(exported)))

    served = geofencing(platform.uow(), "windcity").zones[0].zone.geometry
    assert served["type"] == "MultiPolygon" and _right_hand(served)
    assert shape(served).area == pytest.approx(0.01 - 0.0004)  # the hole is kept
    assert zones.zones_of(platform.uow(), "windcity")["features"][0]["geometry"] == served


def test_zones_stored_before_normalising_are_served_under_the_right_hand_rule(platform):
    make_city(platform, "oldcity", BIKE_PRICE)
    clockwise = {"type": "Polygon", "coordinates": [_wound_clockwise(121.4, 31.2, 121.5, 31.3)]}
    with platform.uow() as uow:  # as an import before normalising stored it
        uow.connection.exec_driver_sql(
            "INSERT INTO zones (id, city_id, kind, name, geometry) VALUES (gen_random_uuid(),"
            " 'oldcity', 'no_parking', 'old', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%(g)s),"
            " 4326)))",
            {"g": json.dumps(clockwise)},
        )
        uow.commit()

    assert _right_hand(geofencing(platform.uow(), "oldcity").zones[0].zone.geometry)


def test_a_self_intersecting_zone_is_refused_naming_where(platform):
    bow_tie = [[121.40, 31.20], [121.50, 31.30], [121.50, 31.20], [121.40, 31.30], [121.40, 31.20]]
    document = {
        "type": "FeatureCollection",
        "features": [feature("no_ride", {"type": "Polygon", "coordinates": [bow_tie]})],
    }
    with pytest.raises(InvalidInput, match=r"feature 0: Self-intersection\[121\.45 31\.25\]"):
        zones_from_geojson(document)
