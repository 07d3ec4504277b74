"""Reports with fields out of every limit: lockctl survives them and nobody sees them.

Each bad report is either used without its bad field or set aside as a dead letter
(`GET /api/v1/ops/dead-letters`); a good report after it is still handled; no battery
above 100 % is ever shown.
"""

import json
import math
import time
from collections.abc import Callable
from typing import Any

from rental.adapters.locks.protocol import Channel
from tests.faults.invariants import assert_invariants
from tests.faults.monitor import shown_available
from tests.faults.system import Bike, FaultSystem

SEQ_BEYOND_LIMIT = 2**70


def test_reports_with_impossible_fields_crash_nothing_and_show_nothing(system, scene):
    world = scene()
    bike = world.bikes[0]
    boot = world.sim.lock(bike.lock_id)["boot"]
    world.sim.offline(bike.lock_id)
    system.eventually(lambda: not system.lock_row(bike.lock_id)["online"], "the lock offline")
    good_battery = iter(range(70, 100))
    seq = iter(range(1_000_000, 1_001_000))

    def fix(**fields: Any) -> dict[str, Any]:
        body = {"v": 1, "boot": boot, "seq": next(seq), "ts": int(time.time() * 1000)}
        body |= {"lon": bike.lon, "lat": bike.lat, "locked": True, "accuracy_m": 5.0}
        return body | fields

    with system.impostor(bike) as lock:
        # The lock says it is online, so its bike is shown to riders.
        lock.publish(Channel.STATUS, {"v": 1, "state": "online", "boot": boot}, retain=True)
        system.eventually(lambda: system.lock_row(bike.lock_id)["online"], "the lock online")

        too_full = fix(battery_pct=101)
        lock.publish(Channel.TELEMETRY, too_full)
        wait_used_or_dead(system, bike, too_full, stored_fix(system, bike, too_full))
        assert (system.lock_row(bike.lock_id)["battery_pct"] or 0) <= 100
        shown = shown_available(system, world.city)
        assert bike.code in shown, "the parked bike is shown"
        assert (shown[bike.code]["battery_pct"] or 0) <= 100

        # Each built when sent, with the lock's next seq: a lock's counter only grows, and a
        # report older than one already stored changes nothing on the lock's row.
        for channel, make in [
            (Channel.TELEMETRY, lambda: fix(accuracy_m=math.nan, battery_pct=63)),
            (Channel.TELEMETRY, lambda: fix(accuracy_m=-1, battery_pct=64)),
            (Channel.TELEMETRY, lambda: fix(ts=1e30, battery_pct=65)),
            (Channel.TELEMETRY, lambda: fix(seq=SEQ_BEYOND_LIMIT, battery_pct=66)),
            (
                Channel.EVT,
                lambda: {
                    "v": 1,
                    "boot": boot,
                    "seq": SEQ_BEYOND_LIMIT,
                    "ts": int(time.time() * 1000),
                    "type": "fault",
                    "reason": "seq",
                },
            ),
            (
                Channel.EVT,
                lambda: {
                    "v": 1,
                    "boot": boot,
                    "seq": next(seq),
                    "ts": 1e30,
                    "type": "fault",
                    "reason": "ts",
                },
            ),
        ]:
            bad = make()
            lock.publish(channel, bad)
            wait_used_or_dead(system, bike, bad, used(system, bike, channel, bad))
            # And the next good report is handled: lockctl lives on.
            battery = next(good_battery)
            lock.publish(Channel.TELEMETRY, fix(battery_pct=battery))
            system.eventually(
                lambda b=battery: system.lock_row(bike.lock_id)["battery_pct"] == b,
                f"a good report after {bad} to be handled",
            )
            assert system.lockctls["a"].alive

    world.sim.online(bike.lock_id)
    assert_invariants(world.check())


def stored_fix(system: FaultSystem, bike: Bike, body: dict[str, Any]) -> Callable[[], bool]:
    """The fix was kept, without its battery."""

    def check() -> bool:
        row = system.stored_fix(bike.lock_id, body["boot"], body["seq"])
        return row is not None and row["battery_pct"] is None

    return check


def used(
    system: FaultSystem, bike: Bike, channel: Channel, body: dict[str, Any]
) -> Callable[[], bool]:
    """A telemetry's battery was taken (the rest of it being usable), or an event stored."""

    def check() -> bool:
        if channel is Channel.TELEMETRY:
            return bool(system.lock_row(bike.lock_id)["battery_pct"] == body["battery_pct"])
        return system.stored_event(bike.lock_id, body["boot"], body["seq"]) is not None

    return check


def wait_used_or_dead(
    system: FaultSystem, bike: Bike, body: dict[str, Any], was_used: Callable[[], bool]
) -> None:
    def handled() -> bool:
        return was_used() or listed_as_dead_letter(system, body)

    system.eventually(
        handled, f"{body} used without its bad field or listed as a dead letter", timeout=10
    )


def listed_as_dead_letter(system: FaultSystem, body: dict[str, Any]) -> bool:
    answer = system.call("GET", "/api/v1/ops/dead-letters", who=system.operator())
    if answer.status_code != 200:
        return False
    listed = json.dumps(answer.json())
    return str(body["seq"]) in listed and str(body["boot"]) in listed
