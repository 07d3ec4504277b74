"""`python -m tests.faults.soak`: many rides over a few minutes while faults strike at random
(database restarts, broker restarts, lockctl killed with SIGKILL, locks offline around the
close, late confirmations), then every invariant of tests/faults over every ride.

Prints what happened and exits 1 on any invariant broken. Seedable (`--seed`): the
schedule of rides and faults is the seed's; the timing of real processes is not.
Runs in a database of its own (`<DATABASE_URL's name>_soak`, made afresh).
"""

import argparse
import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from rental.adapters.locks import mqtt
from rental.adapters.migrations import ensure_postgis, upgrade
from rental.adapters.tables import rentals
from rental.bootstrap import libpq_url
from rental.entrypoints.lock_consumer import ANSWER_GRACE
from tests.faults.invariants import check
from tests.faults.monitor import AvailabilityMonitor
from tests.faults.system import UNLOCK_TIMEOUT_SECONDS, Bike, FaultSystem, Rider

LATE_MS = int((UNLOCK_TIMEOUT_SECONDS + ANSWER_GRACE.total_seconds() + 2) * 1000)
# How long a rider keeps trying (scan, waiting for the ride to end) through an outage.
PATIENCE_S = 90


@dataclass
class Tally:
    rides: int = 0
    ended: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    stuck: int = 0  # the latch closed, the rental did not end in time
    faults: Counter[str] = field(default_factory=Counter)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str, kind: str | None = None) -> None:
        with self.guard:
            if what == "fault":
                self.faults[str(kind)] += 1
            elif what == "failed":
                self.failed[str(kind)] += 1
            else:
                setattr(self, what, getattr(self, what) + 1)


class Rides:
    """One bike's rides, one after another, each at its planned time."""

    def __init__(
        self,
        system: FaultSystem,
        bike: Bike,
        rider: Rider,
        starts: list[float],
        seed: int,
        tally: Tally,
    ) -> None:
        self.system, self.bike, self.rider = system, bike, rider
        self.starts = starts
        self.rng = random.Random(seed)
        self.tally = tally
        self.sim = system.simulators[0]

    def run(self) -> None:
        for start in self.starts:
            time.sleep(max(0.0, start - time.monotonic()))
            try:
                self.ride()
            except Exception as error:  # a rider gives up; the checks judge the outcome
                self.tally.count("failed", f"rider gave up: {type(error).__name__}")

    def ride(self) -> None:
        late = self.rng.random() < 0.06
        offline_close = self.rng.random() < 0.12
        legs, dwell = self.rng.randint(4, 16), self.rng.uniform(0, 3)
        if late:
            self.sim.faults(self.bike.lock_id, unlock_delay_ms=LATE_MS)
            self.tally.count("fault", "late confirmation")
        self.tally.count("rides")
        rental_id = self.scan()
        try:
            row = self.system.wait_rental(
                rental_id, "active", timeout=(LATE_MS / 1000 + 15) if late else 20
            )
        except AssertionError:
            row = self.system.rental(rental_id)
            self.tally.count("failed", f"{row['state']}: {row['failure_reason']}")
            return
        finally:
            if late:
                self.sim.faults(self.bike.lock_id, unlock_delay_ms=0)
        self.sim.ride(self.bike.lock_id, self.system.ride_route(self.bike, legs), 0.25)
        time.sleep(legs * 0.25 + dwell)
        if offline_close:
            self.tally.count("fault", "lock offline around the close")
            self.sim.offline(self.bike.lock_id)
            self.system.close(self.sim, self.bike)
            time.sleep(self.rng.uniform(2, 6))
            self._online()
        else:
            self.system.close(self.sim, self.bike)
        try:
            self.system.wait_rental(row["id"], "ended", timeout=PATIENCE_S)
            self.tally.count("ended")
        except AssertionError:
            self.tally.count("stuck")

    def scan(self) -> str:
        deadline = time.monotonic() + PATIENCE_S
        key = os.urandom(12).hex()  # the same key on every retry: one rental however many tries
        body = {"qr": f"{self.system.api.url}/q/{self.bike.code}", "idempotency_key": key}
        while True:
            try:
                answer = self.system.call("POST", "/api/v1/rentals", body, self.rider)
                if answer.status_code == 202:
                    self.system.rental_ids.append(answer.json()["id"])
                    return str(answer.json()["id"])
                problem = f"scan answered {answer.status_code}"
            except OSError as error:
                problem = f"scan failed: {error}"
            if time.monotonic() > deadline:
                raise RuntimeError(problem)
            time.sleep(1)

    def _online(self) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            try:
                self.sim.online(self.bike.lock_id)
                return
            except AssertionError:  # 503 while the broker restarts
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


class FaultInjector:
    """One platform fault at a time, at random moments, until told to stop."""

    KINDS = ("database restart", "broker restart", "lockctl kill -9")

    def __init__(
        self, system: FaultSystem, rng: random.Random, tally: Tally, every_s: tuple[float, float]
    ) -> None:
        self.system, self.rng, self.tally, self.every_s = system, rng, tally, every_s
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(*self.every_s)):
            kind = self.rng.choice(self.KINDS)
            self.tally.count("fault", kind)
            try:
                self.strike(kind)
            except Exception as error:
                print(f"soak: {kind} went wrong: {error}", file=sys.stderr)

    def strike(self, kind: str) -> None:
        services = self.system.services
        if kind == "database restart":
            services.stop_postgres()
            time.sleep(self.rng.uniform(3, 12))
            services.start_postgres()
        elif kind == "broker restart":
            services.restart_mosquitto()
        else:
            name = self.rng.choice(sorted(self.system.lockctls))
            self.system.lockctls[name].kill()
            time.sleep(self.rng.uniform(0.5, 5))
            self.system.start_lockctl(name)


def soak_database(base_url: str) -> str:
    base = make_url(base_url)
    url = base.set(database=f"{base.database}_soak").render_as_string(hide_password=False)
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(admin), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{base.database}_soak" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{base.database}_soak"')
    ensure_postgis(url)
    upgrade(url)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.faults.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rides", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0, help="over how long rides start")
    parser.add_argument("--bikes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None, help="default: a new one, printed")
    parser.add_argument(
        "--fault-every", type=float, nargs=2, default=(12.0, 25.0), metavar=("MIN_S", "MAX_S")
    )
    args = parser.parse_args(argv)
    # Our own clients' reconnections through broker restarts are expected: not news.
    logging.getLogger(mqtt.__name__).setLevel(logging.WARNING)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    print(f"soak: seed {seed}, {args.rides} rides on {args.bikes} bikes over {args.minutes} min")

    system = FaultSystem(soak_database(os.environ["DATABASE_URL"]), os.environ["MQTT_URL"])
    system.start()
    system.start_lockctl("b")  # two in one share group: the broker splits reports among them
    tally = Tally()
    try:
        city = system.city(rng)
        bikes = system.bikes(city, args.bikes, rng)
        simulator = system.simulate(bikes)
        monitor = AvailabilityMonitor(system, [city], [simulator])
        monitor.start()
        began = time.monotonic() + 2
        spread = args.minutes * 60
        starts: dict[int, list[float]] = {n: [] for n in range(len(bikes))}
        for ride in range(args.rides):
            starts[ride % len(bikes)].append(began + spread * ride / args.rides)
        workers = [
            threading.Thread(
                target=Rides(
                    system, bike, system.rider(10**6), starts[n], rng.randrange(2**32), tally
                ).run,
                daemon=True,
            )
            for n, bike in enumerate(bikes)
        ]
        injector = FaultInjector(
            system, random.Random(rng.randrange(2**32)), tally, tuple(args.fault_every)
        )
        faults = threading.Thread(target=injector.run, daemon=True)
        for thread in [*workers, faults]:
            thread.start()
        for thread in workers:
            thread.join(timeout=spread + 600)
        injector.stop.set()
        faults.join(timeout=120)
        system.services.ensure_running()
        for name in ("a", "b"):
            if not system.lockctls[name].alive:
                system.start_lockctl(name)
        monitor.stop()
        problems = check(system, [city], monitor, settle_s=90)
        adopted = sum(1 for r in _rentals(system) if r.get("late_unlock"))
    finally:
        system.stop()
    print(
        f"rides {tally.rides}, ended {tally.ended}, failed {sum(tally.failed.values())}, "
        f"stuck {tally.stuck}, adopted late unlocks {adopted}"
    )
    for reason, count in sorted(tally.failed.items()):
        print(f"  failed: {reason}: {count}")
    print(
        "faults injected: " + ", ".join(f"{kind} {n}" for kind, n in sorted(tally.faults.items()))
    )
    print(f"availability samples {monitor.samples}; invariant violations {len(problems)}")
    for problem in problems:
        print(f"  VIOLATION {problem}")
    return 1 if problems else 0


def _rentals(system: FaultSystem) -> list[dict[str, Any]]:
    rows = system.read(lambda c: c.execute(select(rentals)).mappings().all())
    return [dict(row) for row in rows]


if __name__ == "__main__":
    sys.exit(main())
