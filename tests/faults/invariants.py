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

import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import select, text

from rental.adapters.tables import lock_events, rentals
from rental.services.wallet import books
from tests.faults.system import City, FaultSystem, Simulator

TOLERANCE_S = 1.0
# The platform may take this long to hide a bike after its latch opened (the event's
# trip through the broker and lockctl, and the monitor's own requests).
HIDE_GRACE_S = 1.5
SAMPLE_INTERVAL_S = 0.5


class AvailabilityMonitor:
    """Polls what riders see while a test runs, and notes each open bike shown available."""

    def __init__(
        self, system: FaultSystem, cities: list[City], simulators: list[Simulator]
    ) -> None:
        self.system = system
        self.cities = cities
        self.simulators = simulators
        self.samples = 0
        # (bike, what was wrong, since when) -> [first seen, last seen, samples]
        self._seen: dict[tuple[str, str, float], list[float]] = {}
        self._failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="availability", daemon=True)

    @property
    def violations(self) -> list[str]:
        found = [
            f"{code} {what} from {_clock(first)} to {_clock(last)} ({int(count)} samples)"
            for (code, what, _), (first, last, count) in self._seen.items()
        ]
        return found + self._failures

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                self.sample()
            except (requests.RequestException, ValueError, KeyError):
                pass  # the API is down with the database: nothing shown, nothing wrong
            except Exception as error:  # a sampler must not die silently
                self._failures.append(f"the availability monitor failed: {error!r}")

    def sample(self) -> None:
        before = time.time()
        shown = {}
        for city in self.cities:
            shown.update(shown_available(self.system, city))
        after = time.time()
        self.samples += 1
        for city in self.cities:
            for bike in city.bikes:
                where = shown.get(bike.code)
                if where is None:
                    continue
                if where["battery_pct"] is not None and where["battery_pct"] > 100:
                    self._note(bike.code, f"shown with battery {where['battery_pct']} %", 0, before)
                for period in self.system.wiretap.latch_periods(bike.lock_id):
                    if period.open_at(before - HIDE_GRACE_S) and period.open_at(after):
                        what = (
                            f"shown available ({where['by']}) with its latch open since "
                            f"{_clock(period.opened.ts_s)}"
                        )
                        self._note(bike.code, what, period.opened.ts_s, before)

    def _note(self, code: str, what: str, since: float, moment: float) -> None:
        seen = self._seen.setdefault((code, what, since), [moment, moment, 0])
        seen[1], seen[2] = moment, seen[2] + 1


def shown_available(system: FaultSystem, city: City) -> dict[str, dict[str, Any]]:
    """Codes riders can see as available in this city, with where and what battery."""
    found: dict[str, dict[str, Any]] = {}
    nearby = system.http.get(
        f"{system.api.url}/api/v1/vehicles/nearby",
        params={"lon": city.lon, "lat": city.lat, "radius_m": 5000, "limit": 100},
        timeout=10,
    )
    nearby.raise_for_status()
    codes = {bike.code for bike in city.bikes}
    for vehicle in nearby.json()["vehicles"]:
        if vehicle["code"] in codes:
            found[vehicle["code"]] = {"by": "nearby", "battery_pct": vehicle["battery_pct"]}
    feed = system.http.get(f"{system.api.url}/gbfs/v3/{city.id}/vehicle_status.json", timeout=10)
    feed.raise_for_status()
    public = system.public_ids(city.id)
    for vehicle in feed.json()["data"]["vehicles"]:
        if vehicle["is_reserved"] or vehicle["is_disabled"]:
            continue
        code = public.get(vehicle["vehicle_id"])
        if code is not None:
            fuel = vehicle.get("current_fuel_percent")
            battery = None if fuel is None else round(fuel * 100)
            found.setdefault(code, {"by": "GBFS", "battery_pct": battery})
    return found


# -- the checks at the end ---------------------------------------------------------------


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
    problems += list(system.wiretap.reused)
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
                    f"lock {lock_id} opened at {_clock(period.opened.ts_s)} for command "
                    f"{period.cmd_id}, which no rental sent"
                )
        for window in system.closes.get(lock_id, []):
            closed = [
                e for e in system.wiretap.events(lock_id, "locked") if e.ts_s >= window[0] - 0.5
            ]
            if not closed:
                problems.append(
                    f"lock {lock_id} was closed at {_clock(window[0])} but never published "
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
            f"{name}: the latch opened for it at {_clock(period.opened.ts_s)} "
            f"({row['failure_reason']}), but nobody rides or pays"
        ]
    problems = []
    started = _seconds(row["started_at"])
    if abs(started - period.opened.ts_s) > TOLERANCE_S:
        problems.append(
            f"{name}: starts at {_clock(started)}, the latch opened at {_clock(period.opened.ts_s)}"
        )
    if period.closed is None:
        if row["state"] == "ended":
            problems.append(
                f"{name}: ended at {_clock(_seconds(row['ended_at']))}, latch still open"
            )
        return problems
    if row["state"] != "ended":
        return [*problems, f"{name}: riding on, the latch closed at {_clock(period.closed.ts_s)}"]
    ended = _seconds(row["ended_at"])
    if abs(ended - period.closed.ts_s) > TOLERANCE_S:
        problems.append(
            f"{name}: ends at {_clock(ended)}, the latch closed at {_clock(period.closed.ts_s)} "
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
        f"lock {e.lock_id} published {e.type} {e.order} (ts {_clock(e.ts_s)}): not in lock_events"
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


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


def assert_ends_at(row: dict[str, Any], event: Any, what: str = "the latch closed") -> None:
    """The rental ended at the event's own time (the lock's clock), within TOLERANCE_S."""
    assert row["state"] == "ended", f"rental {row['id']} is {row['state']}"
    late = _seconds(row["ended_at"]) - event.ts_s
    assert abs(late) <= TOLERANCE_S, (
        f"rental {row['id']} ends at {_clock(_seconds(row['ended_at']))}, {what} at "
        f"{_clock(event.ts_s)} ({late:+.1f} s)"
    )


def assert_invariants(problems: Iterable[str]) -> None:
    found = list(problems)
    assert not found, "invariants broken:\n  " + "\n  ".join(found)
