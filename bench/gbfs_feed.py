"""`vehicle_status.json` of a city of 100,000 vehicles: the time to render and serve it.

Seeded once in the nearby-search benchmark's database (city `feedcity`, kept for later
runs). Measured three ways:
- render: the use case alone (PostgreSQL builds the JSON from the rows it keeps of each
  vehicle), as a renderer runs it: from nothing, after a tenth of the fleet changed, and
  after no change;
- rendered every time (ttl 0): through the Flask app, query, envelope and response;
- as served for `--seconds` (ttl 10): two apps on one database, standing for two workers
  or hosts, take turns; the feed is rendered once per ttl for both and stored (gzip) in
  PostgreSQL, and every answer is checked not to go back in time. Full requests (plain
  and gzip) and conditional ones (If-None-Match) are measured.

    make bench   (python -m bench.gbfs_feed --vehicles 100000 --requests 20 --seconds 30)
"""

import argparse
import re
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import text

from bench.harness import bench_config, bench_database
from bench.scan_latency import percentile
from bench.seeding import SeededCity, allow_silence_since_seeding, seed_city
from rental.app import create_app
from rental.bootstrap import Platform, utc_now
from rental.services import open_data

FEED_CITY = SeededCity("feedcity", "FD", west=113.9, south=22.5, width=0.4, height=0.2)
GZIP = {"Accept-Encoding": "gzip"}
STAMP = re.compile(rb'\{"last_updated":"([^"]+)"')


def report(name: str, timings: list[float]) -> None:
    print(
        f"    {name:14} n={len(timings)}  p50 {percentile(timings, 0.5):.0f} ms"
        f"  p90 {percentile(timings, 0.9):.0f} ms  p99 {percentile(timings, 0.99):.0f} ms"
        f"  max {max(timings):.0f} ms"
    )


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def measure_render(platform: Platform, requests: int, vehicles: int) -> None:
    """The render alone, as a renderer runs it on the primary: after 2 % of the parked
    fleet changed (a peak's 10 s: heartbeats, rides begun and ended; riding bikes' fixes
    wait for their ride's end), after a tenth changed (a worst case), after no change,
    and from nothing (no rows kept: a new city, new rules, or after a crash)."""
    policy = platform.config.service_policy()

    def render() -> str:
        return open_data.render_vehicles_json(platform.uow(), FEED_CITY.city_id, utc_now(), policy)

    def forget_build() -> None:
        sql("DELETE FROM vehicle_status_builds WHERE city_id = :city")

    def change(count: int) -> Callable[[], None]:
        def heard_again() -> None:  # each one's `last_reported` moves: its row is rewritten
            sql(
                "UPDATE locks SET last_seen_at = last_seen_at + interval '1 second' WHERE id IN"
                " (SELECT device_id FROM assets WHERE city_id = :city ORDER BY random()"
                " LIMIT :count)",
                count=count,
            )

        return heard_again

    def sql(statement: str, **values: Any) -> None:
        with platform.engine.begin() as connection:
            connection.execute(text(statement), {"city": FEED_CITY.city_id, **values})

    size = len(render())  # warms the pool and the caches
    print(f"  render alone, on the primary ({size:,} characters of vehicles)")
    # From nothing last: it rewrites every row each time, which a city's renders never do.
    for name, before in (
        (f"{vehicles // 50:,} changed", change(vehicles // 50)),
        (f"{vehicles // 10:,} changed", change(vehicles // 10)),
        ("none changed", lambda: None),
        ("from nothing", forget_build),
    ):
        timings = []
        for _ in range(requests):
            before()
            timings.append(timed(render)[0])
        report(name, timings)


def measure_served(clients: list[Any], url: str, requests: int, seconds: float) -> None:
    """Requests alternate between the clients; each answer's last_updated is checked
    against the one before."""
    full: list[float] = []
    packed: list[float] = []
    conditional: list[float] = []
    renders: set[str] = set()
    size = packed_size = 0
    last: datetime | None = None
    deadline = time.monotonic() + seconds
    while len(full) < requests or time.monotonic() < deadline:
        client = clients[len(full) % len(clients)]
        took, answer = timed(partial(client.get, url))
        full.append(took)
        size = len(answer.data)
        stamp = last_updated(answer.data)
        assert last is None or stamp >= last, f"last_updated went back from {last} to {stamp}"
        last = stamp
        renders.add(answer.headers["ETag"])
        took, answer = timed(partial(client.get, url, headers=GZIP))
        packed.append(took)
        packed_size = len(answer.data)
        unchanged = {"If-None-Match": answer.headers["ETag"]}
        took, _ = timed(partial(client.get, url, headers={**GZIP, **unchanged}))
        conditional.append(took)
    print(f"    ({size:,} bytes, gzip {packed_size:,}; {len(renders)} render(s) served)")
    report("full", full)
    report("full, gzip", packed)
    report("conditional", conditional)


def last_updated(document: bytes) -> datetime:
    """From the envelope's start: parsing 22 MB of JSON per answer would slow the loop."""
    found = STAMP.match(document[:100])
    assert found, document[:100]
    return datetime.fromisoformat(found.group(1).decode())


def platform_with_ttl(ttl: int, vehicles: int) -> Platform:
    """A platform on the benchmark's database, its feed city seeded with `vehicles`."""
    config = bench_config(
        DATABASE_URL=bench_database("bench_nearby"), MQTT_URL="", SECRET_KEY="bench"
    )
    config.RATELIMIT_ENABLED = False  # one client, many requests: the feed is measured
    config.VEHICLE_STATUS_TTL_SECONDS = ttl
    platform = Platform(config)
    seed_city(platform, FEED_CITY, vehicles)
    allow_silence_since_seeding(platform)
    return platform


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gbfs_feed")
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="of requests, as served")
    args = parser.parse_args()
    every_time = platform_with_ttl(0, args.vehicles)
    url = f"/gbfs/v3/{FEED_CITY.city_id}/vehicle_status.json"
    print(f"GBFS vehicle_status.json of {args.vehicles:,} vehicles")
    measure_render(every_time, args.requests, args.vehicles)

    print("  rendered every time (ttl 0), through the app")
    client = create_app(platform=every_time).test_client()
    client.get(url)  # warm the pool and the caches
    timings = [timed(partial(client.get, url))[0] for _ in range(args.requests)]
    report("full", timings)

    print(f"  as served for {args.seconds:.0f} s by two apps in turn: rendered once per 10 s ttl")
    shared = [platform_with_ttl(10, args.vehicles), platform_with_ttl(10, args.vehicles)]
    clients = [create_app(platform=p).test_client() for p in shared]
    for warming in clients:
        warming.get(url)
    measure_served(clients, url, args.requests, args.seconds)
    for platform in (every_time, *shared):
        platform.dispose()


if __name__ == "__main__":
    main()
