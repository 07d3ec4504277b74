"""Road distances from an OSRM-style table API, asked for in blocks the service accepts."""

import socket

import pytest

from rebalancing.distances import DistancesUnavailable
from rebalancing.problem import NO_ARC
from rental.adapters.routing import MAX_ROAD_METRES, OsrmTable
from tests.osrm_peer import osrm_peer, road_metres

POINTS = [(121.40 + 0.01 * n, 31.20 + 0.003 * n) for n in range(7)] + [(151.0, 30.0)]


def expected(points):
    return [
        [
            0 if a == b else NO_ARC if road_metres(p, q) is None else round(road_metres(p, q))
            for b, q in enumerate(points)
        ]
        for a, p in enumerate(points)
    ]


def test_a_big_table_is_asked_for_in_blocks_the_service_accepts():
    with osrm_peer(max_locations=4) as peer:
        table = OsrmTable(peer.url, max_locations=4).matrix(POINTS)

    assert table == expected(POINTS)
    assert table[0][7] == NO_ARC  # no road to the island
    assert peer.requests == 16  # 8 points, 2 by 2: 4 x 4 blocks


def test_a_service_that_refuses_the_size_says_so():
    with osrm_peer(max_locations=4) as peer, pytest.raises(DistancesUnavailable, match="Too"):
        OsrmTable(peer.url, max_locations=100).matrix(POINTS)


def test_a_service_that_is_down_says_so():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(DistancesUnavailable, match=f"{port}: ConnectionError"):
        OsrmTable(f"http://127.0.0.1:{port}", timeout_seconds=2).matrix(POINTS[:2])


@pytest.mark.parametrize(
    "odd",
    [1e30, 2**63, float("inf"), float("-inf"), float("nan"), -500, "1200", True, [3], {}],
    ids=repr,
)
def test_a_table_with_anything_but_metres_is_nonsense_not_a_plan(odd):
    with osrm_peer(odd_distance=odd) as peer, pytest.raises(DistancesUnavailable) as refusal:
        OsrmTable(peer.url).matrix(POINTS[:3])
    assert "point 0 to point 2" in str(refusal.value)


def test_the_longest_road_a_city_has_is_still_a_distance():
    with osrm_peer(odd_distance=MAX_ROAD_METRES) as peer:
        table = OsrmTable(peer.url).matrix(POINTS[:3])
    assert table[0][2] == MAX_ROAD_METRES
