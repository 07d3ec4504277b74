"""`locked` events that must not end a ride, sent with the lock's own credentials.

The design (v1.1): a `locked` event ends a ride only when it comes after the unlock in
the lock's order (same boot and a higher seq, or a later boot) and its ts is not before
the ride's start; one that reuses a telemetry's (boot, seq) is refused (a dead letter).
"""

import time

from rental.adapters.locks.protocol import Channel
from tests.faults.invariants import assert_ends_at, assert_invariants, dead_letter_payloads
from tests.faults.system import FaultSystem

# Far above anything the simulator reaches in a test, so no real message shares it.
CRAFTED_SEQ = 1_000_000


def test_locked_events_out_of_the_locks_order_do_not_end_the_ride(system, scene):
    world = scene()
    bike = world.bikes[0]
    _, rental_id = world.start_ride(bike)
    world.ride(bike, legs=4)
    time.sleep(1.5)
    command = str(system.rental(rental_id)["unlock_command_id"])
    unlock = system.wiretap.opening(bike.lock_id, command)
    assert unlock is not None
    boot, _ = unlock.opened.order
    fix = next(
        t
        for t in system.wiretap.own(bike.lock_id, Channel.TELEMETRY)
        if t.order > unlock.opened.order
    )
    now_ms = int(time.time() * 1000)
    place = {"lon": bike.lon, "lat": bike.lat}
    crafted = {
        "a ts before the unlock": {
            "boot": boot,
            "seq": CRAFTED_SEQ,
            "ts": int(unlock.opened.ts_s * 1000) - 60_000,
        },
        "an older boot": {"boot": boot - 1, "seq": CRAFTED_SEQ, "ts": now_ms},
        "a telemetry's (boot, seq)": {"boot": fix.order[0], "seq": fix.order[1], "ts": now_ms},
    }

    world.sim.offline(bike.lock_id)
    with system.impostor(bike) as lock:
        for what, fields in crafted.items():
            payload = lock.publish(Channel.EVT, {"v": 1, **fields, "type": "locked", **place})
            wait_handled(system, bike.lock_id, fields, payload)
            assert system.rental(rental_id)["state"] == "active", (
                f"a locked event with {what} ended the ride"
            )
        assert payload in dead_letter_payloads(system), (
            "an event reusing a telemetry's (boot, seq) is a dead letter"
        )

    world.sim.online(bike.lock_id)
    world.close(bike)
    closed = system.wiretap.wait_for(bike.lock_id, "locked")
    assert_ends_at(system.wait_rental(rental_id, "ended"), closed)
    assert_invariants(world.check())


def wait_handled(system: FaultSystem, lock_id: str, fields: dict[str, int], payload: bytes) -> None:
    """Until lockctl stored the event or set it aside as a dead letter."""

    def handled() -> bool:
        stored = system.stored_event(lock_id, fields["boot"], fields["seq"])
        return (
            stored is not None and stored["type"] == "locked"
        ) or payload in dead_letter_payloads(system)

    system.eventually(handled, f"lockctl to handle {fields}", timeout=10)
