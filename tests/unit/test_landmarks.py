"""Stops named the way a driver finds them: in a named zone, or metres and a compass point
from the nearest one."""

import pytest

from rental.api.rebalancing_views import is_map_link
from rental.domain.landmarks import Landmark, compass_point, metres_between, nearest_landmark
from rental.domain.zones import Zone, ZoneKind

CENTRE = (121.4737, 31.2304)
# Degrees of latitude and, here, of longitude per 100 m.
LAT_100M = 100 / 111_195
LON_100M = LAT_100M / 0.8545


def square(name, centre=CENTRE, half=0.001, kind=ZoneKind.PARKING, altitude=False):
    lon, lat = centre
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    ring = [[lon + dx * half, lat + dy * half, *([4.0] if altitude else [])] for dx, dy in corners]
    return Zone(kind, name, {"type": "Polygon", "coordinates": [ring]})


def moved(position, east_m=0.0, north_m=0.0):
    return (position[0] + east_m / 100 * LON_100M, position[1] + north_m / 100 * LAT_100M)


def test_a_place_inside_a_zone_is_in_it_without_a_direction():
    place = moved(CENTRE, east_m=60)
    assert nearest_landmark(place, [square("People's Square")]) == Landmark(
        "People's Square", 60, None
    )


def test_a_place_outside_is_so_far_in_a_direction_from_the_nearest_zone():
    zones = [square("Near"), square("Far", centre=moved(CENTRE, east_m=-3000))]
    found = nearest_landmark(moved(CENTRE, east_m=500, north_m=-20), zones)
    assert found == Landmark("Near", 500, "E")


@pytest.mark.parametrize(
    ("east_m", "north_m", "point"),
    [
        (0, 400, "N"),
        (300, 300, "NE"),
        (400, 0, "E"),
        (300, -300, "SE"),
        (0, -400, "S"),
        (-300, -300, "SW"),
        (-400, 0, "W"),
        (-300, 300, "NW"),
    ],
)
def test_the_direction_is_one_of_eight_compass_points(east_m, north_m, point):
    assert compass_point(CENTRE, moved(CENTRE, east_m, north_m)) == point


def test_of_zones_holding_a_place_the_smallest_names_it():
    zones = [
        square("District", half=0.01),
        square("Gate 3", centre=moved(CENTRE, 900), half=0.0005),
    ]
    found = nearest_landmark(moved(CENTRE, 900), zones)
    assert found is not None and found.name == "Gate 3" and found.bearing is None


def test_close_to_a_zone_is_at_it_even_outside():
    tiny = square("Kiosk", half=0.0001)  # about 10 m across
    found = nearest_landmark(moved(CENTRE, north_m=50), [tiny])
    assert found == Landmark("Kiosk", 50, None)


def test_the_service_area_and_unnamed_zones_are_no_landmarks():
    zones = [square("Shanghai", half=0.5, kind=ZoneKind.SERVICE_AREA), square("  ")]
    assert nearest_landmark(CENTRE, zones) is None
    assert nearest_landmark(CENTRE, []) is None


def test_multipolygons_and_positions_with_altitude_are_read():
    a = square("Twin", altitude=True).geometry["coordinates"]
    b = square("x", centre=moved(CENTRE, 2000), altitude=True).geometry["coordinates"]
    twin = Zone(ZoneKind.NO_PARKING, "Twin", {"type": "MultiPolygon", "coordinates": [a, b]})
    found = nearest_landmark(moved(CENTRE, 2000), [twin])
    assert found is not None and found.name == "Twin" and found.bearing is None


def test_distances_are_great_circles_rounded_to_ten_metres():
    assert round(metres_between(CENTRE, moved(CENTRE, north_m=1000))) == 1000
    found = nearest_landmark(moved(CENTRE, north_m=1234), [square("Here", half=0.0001)])
    assert found == Landmark("Here", 1230, "N")


@pytest.mark.parametrize(
    ("template", "ok"),
    [
        ("geo:{lat},{lon}?q={lat},{lon}", True),
        ("https://uri.amap.com/marker?position={lon},{lat}", True),
        ("https://maps.example.com/{zoom}/{lat}", False),  # a field it does not fill
        ("https://maps.example.com/{lat", False),
        ("javascript:alert({lat})", False),
    ],
)
def test_a_drivers_map_link_names_only_lat_and_lon_in_a_maps_address(template, ok):
    assert is_map_link(template) is ok
