"""lockctl's telemetry lanes: each lock's fixes keep to one queue, in the order they came,
and the lanes share one bound."""

from datetime import UTC, datetime

import pytest

from rental.adapters.locks.mqtt import Message
from rental.entrypoints.telemetry_writer import Arrival, TelemetryLanes

AT = datetime(2026, 12, 1, tzinfo=UTC)


def arrival(lock: int, seq: int) -> Arrival:
    return Arrival(Message(f"locks/L-{lock:04d}/telemetry", str(seq).encode()), AT)


def test_each_locks_fixes_keep_to_one_lane_in_the_order_they_came():
    lanes = TelemetryLanes(2, capacity=10_000)
    for seq in range(20):
        for lock in range(50):
            lanes.put(arrival(lock, seq))

    taken = [queue.take(10_000) for queue in lanes.queues]
    lanes_of: dict[str, set[int]] = {}
    for lane, arrivals in enumerate(taken):
        for each in arrivals:
            lanes_of.setdefault(each.message.topic, set()).add(lane)
        by_lock: dict[str, list[int]] = {}
        for each in arrivals:
            by_lock.setdefault(each.message.topic, []).append(int(each.message.payload))
        assert all(seqs == list(range(20)) for seqs in by_lock.values())
    assert all(len(lanes) == 1 for lanes in lanes_of.values())
    assert len(lanes_of) == 50 and all(taken)  # every lock, and both lanes used


def test_the_lanes_share_one_bound_and_count_what_they_shed():
    lanes = TelemetryLanes(2, capacity=100)
    for seq in range(200):
        for lock in range(10):
            lanes.put(arrival(lock, seq))
    assert len(lanes) <= 100
    assert lanes.shed == 2_000 - len(lanes)


def test_telemetry_needs_a_writer():
    with pytest.raises(ValueError):
        TelemetryLanes(0)
