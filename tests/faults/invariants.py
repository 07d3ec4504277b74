"""What must hold after any fault, checked against the locks' own account of events.

1. The books balance.
2. A ride is billed for the time the latch was really open: its start is the `ts` of
   the lock's `unlocked` event and its end the `ts` of the first `locked` event after it
   in the lock's order, each within TOLERANCE_S. A latch that opened for a rental is a
   ride (a late confirmation included); a closed latch ends the ride.
3. No bike whose latch is open is shown available (nearby search, GBFS vehicle_status),
   sampled all along by `AvailabilityMonitor` and once more at the end; no battery above
   100 % is ever shown.
4. No event lost: each event a lock published is in `lock_events`; a crafted one is
   there or in `dead_letters`; each lock's outbox is empty at the end (every event
   acknowledged). And no lock reused a (boot, seq) for other content.
"""

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from rental.adapters.tables import lock_events, rentals
from rental.services.wallet import books
from tests.faults.monitor import AvailabilityMonitor, shown_available
from tests.faults.system import City, FaultSystem
from tests.faults.truth import clock

TOLERANCE_S = 1.0


def check(
    system: FaultSystem,
    cities: list[City],
    monitor: AvailabilityMonitor | None = None,
    settle_s: float = 20,
) -> list[str]:
    """Every invariant over the given cities' bikes and the rentals the test made.

    Waits up to `settle_s` for events still on their way (a lock resending) first."""
    bikes = [bike for city in cities for bike in city.bikes]
    lock_ids = [bike.lock_id for bike in bikes]
    wait_settled(system, lock_ids, settle_s)
    problems: list[str] = []
    report = system.read(lambda _: books(system.platform.uow()))
    if not report.balanced:
        problems.append(f"books do not balance: {report}")
    problems += billing(system, lock_ids)
    problems += lost_events(system, lock_ids)
    problems += [what for lock_id, what in system.wiretap.reused if lock_id in lock_ids]
    problems += open_and_shown(system, cities)
    problems += unacknowledged(system, lock_ids)
    if monitor is not None:
        problems += monitor.violations
    return problems


def wait_settled(system: FaultSystem, lock_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (
            lost_events(system, lock_ids)
            or billing(system, lock_ids)
            or unacknowledged(system, lock_ids)
        ):
            return
        time.sleep(0.5)


def _rentals_of(system: FaultSystem, lock_ids: list[str]) -> list[dict[str, Any]]:
    rows = system.read(
        lambda c: c.execute(select(rentals).where(rentals.c.lock_id.in_(lock_ids))).mappings().all()
    )
    return [dict(row) for row in rows]


def billing(system: FaultSystem, lock_ids: list[str]) -> list[str]:
    problems = []
    rows = _rentals_of(system, lock_ids)
    opened_for = {str(row["unlock_command_id"]) for row in rows}
    for row in rows:
        problems += _billed_as_latch(system, row)
    for lock_id in lock_ids:
        for period in system.wiretap.latch_periods(lock_id):
            if period.cmd_id not in opened_for:
                problems.append(
                    f"lock {lock_id} opened at {clock(period.opened.ts_s)} for command "
                    f"{period.cmd_id}, which no rental sent"
                )
        for window in system.closes.get(lock_id, []):
            closed = [
                e for e in system.wiretap.events(lock_id, "locked") if e.ts_s >= window[0] - 0.5
            ]
            if not closed:
                problems.append(
                    f"lock {lock_id} was closed at {clock(window[0])} but never published "
                    "a locked event (the lock lost it)"
                )
    return problems


def _billed_as_latch(system: FaultSystem, row: dict[str, Any]) -> list[str]:
    name = f"rental {row['id']} ({row['state']})"
    period = system.wiretap.opening(row["lock_id"], str(row["unlock_command_id"]))
    if period is None:
        if row["state"] in ("active", "ended") or row["fare_minor"]:
            return [f"{name}: billed, but its lock never published an unlock for it"]
        return []
    if row["state"] in ("unlocking", "failed"):
        return [
            f"{name}: the latch opened for it at {clock(period.opened.ts_s)} "
            f"({row['failure_reason']}), but nobody rides or pays"
        ]
    problems = []
    started = _seconds(row["started_at"])
    if abs(started - period.opened.ts_s) > TOLERANCE_S:
        problems.append(
            f"{name}: starts at {clock(started)}, the latch opened at {clock(period.opened.ts_s)}"
        )
    if period.closed is None:
        if row["state"] == "ended":
            problems.append(
                f"{name}: ended at {clock(_seconds(row['ended_at']))}, latch still open"
            )
        return problems
    if row["state"] != "ended":
        return [
            *problems,
            f"{name}: riding on, the latch closed at {clock(period.closed.ts_s)}",
        ]
    ended = _seconds(row["ended_at"])
    if abs(ended - period.closed.ts_s) > TOLERANCE_S:
        problems.append(
            f"{name}: ends at {clock(ended)}, the latch closed at {clock(period.closed.ts_s)} "
            f"({ended - period.closed.ts_s:+.1f} s)"
        )
    billed, really = ended - started, period.closed.ts_s - period.opened.ts_s
    if abs(billed - really) > TOLERANCE_S:
        problems.append(f"{name}: billed {billed:.1f} s, the latch was open {really:.1f} s")
    return problems


def lost_events(system: FaultSystem, lock_ids: list[str]) -> list[str]:
    published = [e for lock_id in lock_ids for e in system.wiretap.events(lock_id)]
    crafted = [e for lock_id in lock_ids for e in system.wiretap.crafted(lock_id)]
    crafted = [e for e in crafted if e.channel.value == "evt"]
    stored = _stored_keys(system, lock_ids)
    dead = dead_letter_payloads(system)
    problems = [
        f"lock {e.lock_id} published {e.type} {e.order} (ts {clock(e.ts_s)}): not in lock_events"
        for e in published
        if e.key not in stored
    ]
    problems += [
        f"crafted {e.type} {e.order} of lock {e.lock_id}: neither stored nor a dead letter"
        for e in crafted
        if e.key not in stored and e.payload not in dead
    ]
    return problems


def _stored_keys(system: FaultSystem, lock_ids: list[str]) -> set[tuple[str, int, int]]:
    key = (lock_events.c.lock_id, lock_events.c.boot, lock_events.c.seq)
    rows = system.read(
        lambda c: c.execute(select(*key).where(lock_events.c.lock_id.in_(lock_ids))).all()
    )
    return {(lock_id, int(boot), int(seq)) for lock_id, boot, seq in rows}


def dead_letter_payloads(system: FaultSystem) -> set[bytes]:
    if not system.table_exists("dead_letters"):
        return set()
    rows = system.read(
        lambda c: c.execute(text("SELECT payload FROM dead_letters")).scalars().all()
    )
    return {bytes(payload) for payload in rows}


def open_and_shown(system: FaultSystem, cities: list[City]) -> list[str]:
    """At the end: no bike the simulator holds open is shown available."""
    problems = []
    latches: dict[str, bool] = {}
    for simulator in system.simulators:
        if simulator.alive:
            latches.update({k: v["locked"] for k, v in simulator.locks().items()})
    for city in cities:
        shown = shown_available(system, city)
        for bike in city.bikes:
            if latches.get(bike.lock_id) is False and bike.code in shown:
                problems.append(
                    f"{bike.code}: latch open, shown available in {shown[bike.code]['by']}"
                )
            battery = shown.get(bike.code, {}).get("battery_pct")
            if battery is not None and battery > 100:
                problems.append(f"{bike.code}: shown with battery {battery} %")
    return problems


def unacknowledged(system: FaultSystem, lock_ids: list[str]) -> list[str]:
    """The locks' side of "no event lost": every event acknowledged, none dropped from a
    full outbox, no forged ack (simulator 1.1 shows these in each lock's view)."""
    problems = []
    for simulator in system.simulators:
        if not simulator.alive:
            continue
        for lock_id, view in simulator.locks().items():
            if lock_id not in lock_ids or not isinstance(view.get("outbox"), int):
                continue
            if view["outbox"] and view["online"]:
                problems.append(f"lock {lock_id}: {view['outbox']} event(s) never acknowledged")
            if view.get("outbox_dropped"):
                problems.append(f"lock {lock_id}: {view['outbox_dropped']} event(s) dropped")
            if view.get("bad_acks"):
                problems.append(f"lock {lock_id}: {view['bad_acks']} ack(s) with a bad signature")
    return problems


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def assert_ends_at(row: dict[str, Any], event: Any, what: str = "the latch closed") -> None:
    """The rental ended at the event's own time (the lock's clock), within TOLERANCE_S."""
    assert row["state"] == "ended", f"rental {row['id']} is {row['state']}"
    late = _seconds(row["ended_at"]) - event.ts_s
    assert abs(late) <= TOLERANCE_S, (
        f"rental {row['id']} ends at {clock(_seconds(row['ended_at']))}, {what} at "
        f"{clock(event.ts_s)} ({late:+.1f} s)"
    )


def assert_invariants(problems: Iterable[str]) -> None:
    found = list(problems)
    assert not found, "invariants broken:\n  " + "\n  ".join(found)
