"""Positions that cannot be trusted: a jump of 1,000 km, NaN, out of range.

A trip still ends when the latch closes; where it ended falls back to the last good fix
and the doubt is recorded; no out-of-zone fee is charged on a doubtful position.
"""

import math
import time
from typing import Any

from rental.adapters.locks.protocol import Channel
from tests.faults.invariants import assert_ends_at, assert_invariants

# About 1,000 km north of the city.
JUMP_DEG = 9.0
# Far above anything the simulator reaches in a test, so no real message shares it.
CRAFTED_SEQ = 1_000_000


def service_area(lon: float, lat: float, half: float = 0.05) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kind": "service_area", "name": "the whole city"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


def test_a_last_fix_1000_km_away_costs_no_fee_and_is_recorded_as_doubtful(system, scene):
    world = scene(zones=service_area)
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    route = system.ride_route(bike)
    far = (route[-1][0], route[-1][1] + JUMP_DEG)
    world.sim.ride(bike.lock_id, [*route, far], 0.25)
    world.close(bike)  # where the lock believes it is: 1,000 km away

    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    ended = system.wait_rental(rental_id, "ended")
    assert_ends_at(ended, closed)
    judged = {k: ended[k] for k in ("out_of_zone_fee_minor", "position_doubt", "distance_m")}
    assert ended["out_of_zone_fee_minor"] == 0, judged
    assert ended["position_doubt"], judged
    assert ended["distance_m"] < 1_000, judged
    assert_invariants(world.check())


def close_offline_while_a_crafted_report_gets_through(
    system: Any, scene: Any, channel: Channel, fields: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    """A ride; the latch closes with the lock offline (its own event waits in its outbox),
    and a crafted report on `channel` gets through first (the simulator refuses NaN
    points). Returns the ended rental and when the report was sent; the lock comes back."""
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike, legs=4)
    time.sleep(1.5)
    boot = world.sim.lock(bike.lock_id)["boot"]
    world.sim.offline(bike.lock_id)
    world.close(bike)
    sent_at = time.time()
    with system.impostor(bike) as lock:
        body = {"v": 1, "boot": boot, "seq": CRAFTED_SEQ, "ts": int(sent_at * 1000), **fields}
        lock.publish(channel, body)
        ended = system.wait_rental(rental_id, "ended", timeout=10)
    world.sim.online(bike.lock_id)
    system.wiretap.wait_for(bike.lock_id, "locked", timeout=15)
    assert_invariants(world.check())
    return ended, sent_at


def test_a_locked_event_with_a_nan_position_still_ends_the_ride(system, scene):
    nan_position = {"type": "locked", "lon": math.nan, "lat": math.nan}
    ended, sent_at = close_offline_while_a_crafted_report_gets_through(
        system, scene, Channel.EVT, nan_position
    )
    assert abs(ended["ended_at"].timestamp() - sent_at) <= 1, "ends at the event's own time"
    assert ended["position_doubt"], "a close without a position is recorded as doubtful"
    assert ended["out_of_zone_fee_minor"] == 0


def test_telemetry_saying_locked_with_a_bad_position_ends_the_ride(system, scene):
    bad_position = {"lon": 200.0, "lat": math.nan, "locked": True, "battery_pct": 90}
    ended, sent_at = close_offline_while_a_crafted_report_gets_through(
        system, scene, Channel.TELEMETRY, {**bad_position, "accuracy_m": 5.0}
    )
    assert abs(ended["ended_at"].timestamp() - sent_at) <= 1, "ends at the report's own time"
    assert ended["position_doubt"]
