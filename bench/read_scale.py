"""Throughput of the read paths with 1 and 2 API processes (gunicorn workers).

The API runs under gunicorn as deployed, on the nearby-search benchmark's database (a
city of 1,000,000 vehicles and one of 100,000, seeded by `bench.nearby_search` and
`bench.gbfs_feed` when missing). For each worker count, `--clients` threads with
keep-alive connections ask as fast as they can for `--seconds`:
- nearby: the 20 nearest vehicles around a random point of the big city;
- gbfs: the 100,000-vehicle city's vehicle_status, gzip (as feed consumers ask), its
  ttl 10 s: rendered once per ttl for both workers.
The clients run on the same machine: on two cores they take some of the CPU they measure.

    make bench-scale   (python -m bench.read_scale --seconds 20 --clients 8)
"""

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.gbfs_feed import FEED_CITY
from bench.harness import bench_config, bench_database, free_port
from bench.nearby_search import METRO, random_point
from bench.scan_latency import percentile
from bench.seeding import allow_silence_since_seeding, seed_city
from rental.bootstrap import Platform

ROOT = Path(__file__).resolve().parent.parent
NEARBY_VEHICLES = 1_000_000
FEED_VEHICLES = 100_000


def seeded_database() -> tuple[str, int]:
    """The database's URL, and the lock silence that lets its seeded vehicles count."""
    url = bench_database("bench_nearby")
    platform = Platform(bench_config(DATABASE_URL=url, SECRET_KEY="bench"))
    seed_city(platform, METRO, NEARBY_VEHICLES)
    seed_city(platform, FEED_CITY, FEED_VEHICLES)
    allow_silence_since_seeding(platform)
    silence = platform.config.LOCK_SILENCE_SECONDS + 3600  # for the run's length too
    platform.dispose()
    return url, silence


@contextmanager
def api(workers: int, url: str, silence: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "0",  # a few clients, many requests: the paths are measured
        "LOCK_SILENCE_SECONDS": str(silence),
        "VEHICLE_STATUS_TTL_SECONDS": "10",
    }
    log = ROOT / "var" / "log" / "bench-read-scale-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
                *("--worker-class", "gthread", "--threads", "16", "--keep-alive", "60"),
                "rental.app:create_app()",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start (var/log/bench-read-scale-api.log)")


def load(
    ask: Callable[[requests.Session, random.Random], int], clients: int, seconds: float
) -> str:
    """Requests per second and latencies of `clients` threads asking for `seconds`."""
    timings: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        nonlocal failures
        session, rng = requests.Session(), random.Random(number)
        ask(session, rng)  # opens the connection before the clock matters
        while time.monotonic() < stop:
            started = time.perf_counter()
            status = ask(session, rng)
            took = (time.perf_counter() - started) * 1000
            with lock:
                timings.append(took)
                failures += status != 200

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (
        f"{len(timings) / seconds:7.1f} req/s  p50 {percentile(timings, 0.5):6.1f} ms"
        f"  p99 {percentile(timings, 0.99):7.1f} ms  (n={len(timings)}, failed {failures})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_scale")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    url, silence = seeded_database()

    def nearby(base: str) -> Callable[[requests.Session, random.Random], int]:
        def ask(session: requests.Session, rng: random.Random) -> int:
            lon, lat = random_point(rng)
            query = f"lon={lon}&lat={lat}&radius_m=500"
            return session.get(f"{base}/api/v1/vehicles/nearby?{query}", timeout=30).status_code

        return ask

    def gbfs(base: str) -> Callable[[requests.Session, random.Random], int]:
        feed = f"{base}/gbfs/v3/{FEED_CITY.city_id}/vehicle_status.json"

        def ask(session: requests.Session, rng: random.Random) -> int:
            answer = session.get(feed, headers={"Accept-Encoding": "gzip"}, timeout=60, stream=True)
            answer.raw.read()  # the bytes as sent, not inflated: the server is measured
            return answer.status_code

        return ask

    print(f"read throughput, {args.clients} clients for {args.seconds:.0f} s each")
    for workers in args.workers:
        with api(workers, url, silence) as base:
            for name, ask in (("nearby", nearby(base)), ("gbfs", gbfs(base))):
                print(f"  {workers} worker(s)  {name:6} {load(ask, args.clients, args.seconds)}")


if __name__ == "__main__":
    main()
