"""Scan-to-unlocked latency: from the rider's POST to the rental being `active`.

Each rider scans its own bike and waits for the rental to turn active (long poll);
the locks open with no simulated delay, so what is measured is the platform: HTTP,
PostgreSQL, the broker, the lock's signature check, lockctl and the notification
back. Two load shapes, several rounds each:
- burst: all riders scan at the same moment (a thundering herd);
- paced: riders arrive at a steady rate (--rate per second), as in a busy city.

    make bench   (python -m bench.scan_latency --riders 100 --rounds 5 --rate 20)
"""

import argparse
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import text

from bench.harness import Bench


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def one_scan(bench: Bench, number: int, start: threading.Barrier, delay: float) -> float:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {bench.tokens[number]}"}
    body = {
        "qr": f"https://ride.example/q/{bench.codes[number]}",
        "idempotency_key": uuid.uuid4().hex,
    }
    session.get(f"{bench.api}/healthz")  # open the connection before the clock starts
    start.wait()
    time.sleep(delay)
    began = time.perf_counter()
    answer = session.post(f"{bench.api}/api/v1/rentals", json=body, headers=headers)
    if answer.status_code != 202:
        raise RuntimeError(f"scan {number} answered {answer.status_code}: {answer.text}")
    rental = answer.json()
    while rental["state"] == "unlocking":
        rental = session.get(
            f"{bench.api}/api/v1/rentals/{rental['id']}?wait=10", headers=headers
        ).json()
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scan_latency")
    parser.add_argument("--riders", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="paced arrivals per second")
    args = parser.parse_args()

    bench = Bench(args.riders)
    print(f"seeding {args.riders} riders and bikes ...", flush=True)
    bench.seed()
    with bench.running():
        bench.sign_in_all()
        burst = run_rounds(bench, args.rounds, interval=0.0)
        paced = run_rounds(bench, args.rounds, interval=1 / args.rate)
    report(f"burst: {args.riders} riders at once", burst)
    report(f"paced: {args.riders} riders arriving at {args.rate:g}/s", paced)


def run_rounds(bench: Bench, rounds: int, interval: float) -> tuple[list[float], float]:
    """Latencies of all rounds after a warm-up round, and the unlocks per second achieved."""
    latencies: list[float] = []
    busy = 0.0
    riders = bench.riders
    for round_number in range(rounds + 1):  # round 0 warms up
        start = threading.Barrier(riders)
        delays = [number * interval for number in range(riders)]
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=riders) as pool:
            results = list(
                pool.map(one_scan, [bench] * riders, range(riders), [start] * riders, delays)
            )
        if round_number:
            latencies += results
            busy += time.perf_counter() - began
        end_all_rides(bench)
    return latencies, len(latencies) / busy


def report(title: str, measured: tuple[list[float], float]) -> None:
    latencies, throughput = measured
    ms = [value * 1000 for value in latencies]
    print(f"\nscan-to-unlocked, {title} ({len(ms)} rentals)")
    print(f"  p50 {percentile(ms, 0.50):7.1f} ms")
    print(f"  p90 {percentile(ms, 0.90):7.1f} ms")
    print(f"  p99 {percentile(ms, 0.99):7.1f} ms")
    print(f"  max {max(ms):7.1f} ms   mean {statistics.fmean(ms):.1f} ms")
    print(f"  throughput {throughput:.0f} unlocks/s")


if __name__ == "__main__":
    main()
