"""`vehicle_status.json` of a city of 100,000 vehicles: the time to serve the whole feed.

Seeded once in the nearby-search benchmark's database (city `feedcity`, kept for later
runs), then fetched through the Flask app: query, JSON, ETag. Measured twice: rendered on
every request (what one render costs), and as served for `--seconds` of back-to-back
requests, where each process renders a city's feed once per 10 s ttl, in the background
while the previous render is served. A conditional request with the ETag is measured too.

    make bench   (python -m bench.gbfs_feed --vehicles 100000 --requests 20 --seconds 30)
"""

import argparse
import time
from typing import Any

from bench.harness import bench_database
from bench.scan_latency import percentile
from bench.seeding import SeededCity, allow_silence_since_seeding, seed_city
from rental.api.gbfs_feeds import VehicleStatusCache
from rental.app import create_app
from rental.bootstrap import Platform
from rental.config import Config

FEED_CITY = SeededCity("feedcity", "FD", west=113.9, south=22.5, width=0.4, height=0.2)


def measure(
    client: Any, url: str, requests: int, seconds: float = 0
) -> tuple[list[float], list[float], int, int]:
    """Timings of full and conditional requests, the size, and how many renders were seen."""
    full: list[float] = []
    conditional: list[float] = []
    size, renders = 0, set()
    deadline = time.monotonic() + seconds
    while len(full) < requests or time.monotonic() < deadline:
        started = time.perf_counter()
        answer = client.get(url)
        full.append((time.perf_counter() - started) * 1000)
        size = len(answer.data)
        renders.add(answer.headers["Last-Modified"])
        started = time.perf_counter()
        client.get(url, headers={"If-None-Match": answer.headers["ETag"]})
        conditional.append((time.perf_counter() - started) * 1000)
    return full, conditional, size, len(renders)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gbfs_feed")
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="of requests, as served")
    args = parser.parse_args()
    config = Config(DATABASE_URL=bench_database("bench_nearby"), MQTT_URL="", SECRET_KEY="bench")
    config.RATELIMIT_ENABLED = False  # one client, many requests: the feed is measured
    platform = Platform(config)
    seed_city(platform, FEED_CITY, args.vehicles)
    allow_silence_since_seeding(platform)
    url = f"/gbfs/v3/{FEED_CITY.city_id}/vehicle_status.json"
    print(f"GBFS vehicle_status.json of {args.vehicles:,} vehicles")
    for ttl, what in ((0, "rendered every time"), (10, "as served: rendered once per 10 s ttl")):
        platform.config.VEHICLE_STATUS_TTL_SECONDS = ttl
        platform.vehicle_status_cache = VehicleStatusCache(ttl)
        client = create_app(platform=platform).test_client()
        client.get(url)  # warm the pool and the caches
        full, conditional, size, renders = measure(
            client, url, args.requests, args.seconds if ttl else 0
        )
        print(f"  {what} ({size:,} bytes, {renders} render(s) served)")
        for name, timings in (("full", full), ("conditional", conditional)):
            print(
                f"    {name:12} n={len(timings)}  p50 {percentile(timings, 0.5):.0f} ms"
                f"  p90 {percentile(timings, 0.9):.0f} ms  p99 {percentile(timings, 0.99):.0f} ms"
                f"  max {max(timings):.0f} ms"
            )
    platform.engine.dispose()


if __name__ == "__main__":
    main()
