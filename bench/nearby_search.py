"""Nearby search on a city of a million vehicles: latency of `GET /vehicles/nearby`.

A database of its own (`<name>_bench_nearby`) holds 1,000,000 bikes and e-bikes spread
over a 57 x 67 km city, a few out of service or with a flat battery; it is seeded once
and kept for later runs. Each query asks for the 20 nearest available vehicles within
500 m of a random point. Two measures, both on one core of the client:
- search: the use case alone (pool, SQL, PostGIS), as the API calls it;
- http: the whole request through the Flask app (routing, auth-free JSON rendering);
  with `--rate-limits` counted in Redis (RATELIMIT_STORAGE_URI) as when deployed.
Each line also gives the client process's CPU time per request: the machine's other load
moves the latencies, much less the CPU a request costs.

    make bench   (python -m bench.nearby_search --vehicles 1000000 --queries 2000)
"""

import argparse
import os
import random
import time
import uuid

from bench.harness import bench_config, bench_database
from bench.scan_latency import percentile
from bench.seeding import SeededCity, allow_silence_since_seeding, seed_city
from rental.app import create_app
from rental.bootstrap import Platform, utc_now
from rental.services import vehicles
from rental.services.commands.assets import SearchNearby

# About 57 km east-west and 67 km north-south.
METRO = SeededCity("metro", "NB", west=121.2, south=30.9, width=0.6, height=0.6)


def random_point(rng: random.Random) -> tuple[float, float]:
    return METRO.west + rng.random() * METRO.width, METRO.south + rng.random() * METRO.height


def report(name: str, timings: list[float], found: list[int], cpu_seconds: float) -> None:
    ms = [t * 1000 for t in timings]
    print(
        f"{name:7} n={len(ms)}  p50 {percentile(ms, 0.5):.2f} ms  p90 {percentile(ms, 0.9):.2f} ms"
        f"  p99 {percentile(ms, 0.99):.2f} ms  max {max(ms):.2f} ms"
        f"  cpu {cpu_seconds * 1000 / len(ms):.2f} ms/request"
        f"  (vehicles per answer: median {sorted(found)[len(found) // 2]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nearby_search")
    parser.add_argument("--vehicles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--radius-m", type=int, default=500)
    parser.add_argument(
        "--rate-limits", action="store_true", help="counted in RATELIMIT_STORAGE_URI, never met"
    )
    args = parser.parse_args()

    # One client asks thousands of times: the measure is the search, not the rate limit,
    # unless asked for (then counted as deployed, with a limit the benchmark never meets).
    config = bench_config(
        DATABASE_URL=bench_database("bench_nearby"), MQTT_URL="", SECRET_KEY="bench"
    )
    config.RATELIMIT_ENABLED = args.rate_limits
    if args.rate_limits:
        config.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        config.RATELIMIT_KEY_PREFIX = f"bench-{uuid.uuid4().hex}"
        config.RATE_LIMIT_DEFAULT = "1000000/minute"
    platform = Platform(config)
    seed_city(platform, METRO, args.vehicles)
    allow_silence_since_seeding(platform)
    policy = platform.config.service_policy()
    rng = random.Random(7)

    timings, found = [], []
    for number in range(args.queries + 100):
        if number == 100:  # the first hundred warm the pool and the caches
            cpu = time.process_time()
        lon, lat = random_point(rng)
        search = SearchNearby(lon, lat, args.radius_m, None, 20)
        started = time.perf_counter()
        answer = vehicles.nearby(platform.lagging_reader(), search, utc_now(), policy)
        if number >= 100:
            timings.append(time.perf_counter() - started)
            found.append(len(answer))
    print(f"nearby search, {args.vehicles:,} vehicles, radius {args.radius_m} m, 20 nearest")
    report("search", timings, found, time.process_time() - cpu)

    client = create_app(platform=platform).test_client()
    timings, found = [], []
    cpu = time.process_time()
    for _ in range(args.queries):
        lon, lat = random_point(rng)
        started = time.perf_counter()
        response = client.get(
            f"/api/v1/vehicles/nearby?lon={lon}&lat={lat}&radius_m={args.radius_m}"
        )
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.data
        found.append(len(response.get_json()["vehicles"]))
    report("http", timings, found, time.process_time() - cpu)
    platform.dispose()


if __name__ == "__main__":
    main()
