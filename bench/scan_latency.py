"""Scan-to-unlocked latency: from the rider's POST to the rental being `active`.

Each rider scans its own bike and waits for the rental to turn active (long poll);
the locks open with no simulated delay, so what is measured is the platform: HTTP,
PostgreSQL, the broker, the lock's signature check, lockctl and the notification
back. Two load shapes, several rounds each:
- burst: all riders scan at the same moment (a thundering herd);
- paced: riders arrive at a steady rate (--rate per second), as in a busy city.

Besides latencies, each shape reports the CPU time every process spent per unlock
(`bench.cpu`): on a machine shared with other work it moves far less than the wall clock.
`--profile DIR` records the API's workers and lockctl with py-spy during the measured
rounds (`bench.profiling`).

    make bench   (python -m bench.scan_latency --riders 100 --rounds 5 --rate 20)
"""

import argparse
import http.client
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from bench.harness import API_THREADS, Bench
from bench.profiling import recording


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Rider:
    """One rider's phone: a kept-alive HTTP connection to the API. Plain `http.client`:
    the riders share the machine's two cores with the platform, and `requests` spent three
    times as much CPU per call."""

    def __init__(self, bench: Bench, number: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", bench.api_port)
        self._headers = {
            "Authorization": f"Bearer {bench.tokens[number]}",
            "Content-Type": "application/json",
        }

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body)
        self._connection.request(method, path, payload, self._headers)
        answer = self._connection.getresponse()
        return answer.status, json.loads(answer.read())


def one_scan(bench: Bench, number: int, start: threading.Barrier, delay: float) -> float:
    rider = Rider(bench, number)
    body = {
        "qr": f"https://ride.example/q/{bench.codes[number]}",
        "idempotency_key": uuid.uuid4().hex,
    }
    rider.call("GET", "/healthz")  # open the connection before the clock starts
    start.wait()
    time.sleep(delay)
    began = time.perf_counter()
    status, rental = rider.call("POST", "/api/v1/rentals?wait=10", body)
    if status != 202:
        raise RuntimeError(f"scan {number} answered {status}: {rental}")
    while rental["state"] == "unlocking":
        _, rental = rider.call("GET", f"/api/v1/rentals/{rental['id']}?wait=10")
    elapsed = time.perf_counter() - began
    if rental["state"] != "active":
        raise RuntimeError(
            f"rental {rental['id']} ended up {rental['state']}: {rental['failure_reason']}"
        )
    return elapsed


def end_all_rides(bench: Bench) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda lock_id: requests.post(f"{bench.sim}/locks/{lock_id}/close"), bench.lock_ids
            )
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with bench.platform.engine.connect() as connection:
            open_rentals = connection.execute(
                text("SELECT count(*) FROM rentals WHERE state IN ('unlocking', 'active')")
            ).scalar()
        if open_rentals == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("rides did not end")


@dataclass
class Measured:
    latencies: list[float] = field(default_factory=list)  # seconds
    busy: float = 0.0  # seconds of the measured rounds
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.busy


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scan_latency")
    parser.add_argument("--riders", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="paced arrivals per second")
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--api-threads", type=int, default=API_THREADS, help="per API worker")
    parser.add_argument("--lockctl", type=int, default=1, help="lockctl processes")
    parser.add_argument("--shapes", default="burst,paced", help="burst, paced or both")
    parser.add_argument("--profile", type=Path, help="py-spy profiles into this directory")
    args = parser.parse_args()

    bench = Bench(
        args.riders,
        api_workers=args.api_workers,
        api_threads=args.api_threads,
        lockctl_processes=args.lockctl,
    )
    print(f"seeding {args.riders} riders and bikes ...", flush=True)
    bench.seed()
    shapes = {"burst": 0.0, "paced": 1 / args.rate}
    titles = {
        "burst": f"burst: {args.riders} riders at once",
        "paced": f"paced: {args.riders} riders arriving at {args.rate:g}/s",
    }
    results = {}
    with bench.running():
        bench.sign_in_all()
        idle = idle_cpu(bench)
        for shape in args.shapes.split(","):
            profile = args.profile / shape if args.profile else None
            results[shape] = run_rounds(bench, args.rounds, shapes[shape], profile)
    print(
        f"\n{args.api_workers} API worker(s) x {bench.api_threads} threads,"
        f" {args.lockctl} lockctl process(es)"
    )
    print(f"idle, CPU per second: {_by_process(idle)}")
    for shape, measured in results.items():
        report(titles[shape], measured)


IDLE_SECONDS = 5.0


def idle_cpu(bench: Bench) -> dict[str, float]:
    """CPU milliseconds per second each process spends with no rider about: the fleet's
    heartbeats, lockctl's sweeper. Counted in the rounds' figures too."""
    with bench.cpu_meter().measuring() as spent:
        time.sleep(IDLE_SECONDS)
    return {name: 1000 * seconds / IDLE_SECONDS for name, seconds in spent.items()}


def _by_process(milliseconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.1f}" for name, value in milliseconds.items())


def run_rounds(bench: Bench, rounds: int, interval: float, profile: Path | None) -> Measured:
    """Latencies of all rounds after a warm-up round, the time they took, and the CPU
    every process spent in them."""
    measured = Measured()
    meter = bench.cpu_meter()
    riders = bench.riders
    for round_number in range(rounds + 1):  # round 0 warms up
        start = threading.Barrier(riders)
        delays = [number * interval for number in range(riders)]
        profiler = (
            recording(bench.profiled_pids(), profile, f"-{round_number}")
            if profile is not None and round_number
            else nullcontext()
        )
        with profiler, meter.measuring() as spent:
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=riders) as pool:
                results = list(
                    pool.map(one_scan, [bench] * riders, range(riders), [start] * riders, delays)
                )
            took = time.perf_counter() - began
        if round_number:
            measured.latencies += results
            measured.busy += took
            for name, seconds in spent.items():
                measured.cpu[name] = measured.cpu.get(name, 0.0) + seconds
        end_all_rides(bench)
    return measured


def report(title: str, measured: Measured) -> None:
    ms = [value * 1000 for value in measured.latencies]
    print(f"\nscan-to-unlocked, {title} ({len(ms)} rentals)")
    print(f"  p50 {percentile(ms, 0.50):7.1f} ms")
    print(f"  p90 {percentile(ms, 0.90):7.1f} ms")
    print(f"  p99 {percentile(ms, 0.99):7.1f} ms")
    print(f"  max {max(ms):7.1f} ms   mean {statistics.fmean(ms):.1f} ms")
    print(f"  throughput {measured.throughput:.0f} unlocks/s")
    per_unlock = {name: 1000 * seconds / len(ms) for name, seconds in measured.cpu.items()}
    platform = sum(value for name, value in per_unlock.items() if name != "riders")
    print(f"  CPU per unlock {platform:.1f} ms ({_by_process(per_unlock)})")
    # The locks and the riders' phones are not the platform's: without them on its cores,
    # its own CPU per unlock bounds what two cores could do.
    own = platform - per_unlock.get("simulator", 0.0)
    print(f"  platform alone {own:.1f} ms: at most {2000 / own:.0f} unlocks/s on 2 cores")


if __name__ == "__main__":
    main()
