"""The streaming replica of `scripts/services.sh start-replica`: how far it lags, and the
reads that may lag served from it.

- replay lag: a commit on the primary (an xid, nothing else), then the time until the
  replica has replayed its WAL, `--commits` times;
- nearby search (the use case) on the 1,000,000-vehicle city of `bench.nearby_search`,
  reading the primary, then the replica (READ_DATABASE_URL): on one machine the replica
  only shares its cores, so this shows the reads work as fast, not a gain.
The replica is started if it is not running, and then stopped again.

    python -m bench.read_replica --commits 200 --queries 1000
"""

import argparse
import random
import re
import subprocess
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.harness import bench_config, bench_database
from bench.nearby_search import METRO, random_point
from bench.scan_latency import percentile
from bench.seeding import allow_silence_since_seeding
from rental.bootstrap import Platform, libpq_url, utc_now
from rental.services import vehicles
from rental.services.commands.assets import SearchNearby

SCRIPT = str(Path(__file__).resolve().parent.parent / "scripts" / "services.sh")


def start_replica() -> tuple[str, bool]:
    """The replica's URL of the `rental` database, and whether it was copied just now."""
    started = subprocess.run(
        [SCRIPT, "start-replica"], check=True, capture_output=True, text=True, timeout=1800
    )
    found = re.search(r"READ_DATABASE_URL=(\S+)", started.stdout)
    assert found, started.stdout + started.stderr
    return found.group(1), "copying PostgreSQL" in started.stderr


def replay_lag(primary: str, replica: str, commits: int) -> list[float]:
    lags = []
    with (
        psycopg.connect(libpq_url(primary), autocommit=True) as writer,
        psycopg.connect(libpq_url(replica), autocommit=True) as reader,
    ):
        for _ in range(commits):
            writer.execute("SELECT txid_current()")  # a commit record in the WAL
            committed = time.perf_counter()
            lsn = writer.execute("SELECT pg_current_wal_lsn()").fetchone()
            replayed = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
            while not (reader.execute(replayed, lsn).fetchone() or (False,))[0]:
                time.sleep(0.0002)
            lags.append((time.perf_counter() - committed) * 1000)
            time.sleep(0.01)
    return lags


def searches(platform: Platform, queries: int) -> list[float]:
    policy, rng, timings = platform.config.service_policy(), random.Random(7), []
    for number in range(queries + 100):
        lon, lat = random_point(rng)
        started = time.perf_counter()
        vehicles.nearby(
            platform.lagging_reader(), SearchNearby(lon, lat, 500, None, 20), utc_now(), policy
        )
        if number >= 100:  # the first hundred warm the pool and the caches
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(name: str, timings: list[float]) -> None:
    print(
        f"  {name:22} n={len(timings)}  p50 {percentile(timings, 0.5):.2f} ms"
        f"  p90 {percentile(timings, 0.9):.2f} ms  p99 {percentile(timings, 0.99):.2f} ms"
        f"  max {max(timings):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_replica")
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    database = bench_database("bench_nearby")  # seeded by bench.nearby_search
    replica_url, copied = start_replica()
    replica = make_url(replica_url).set(database=make_url(database).database)
    replica_database = replica.render_as_string(hide_password=False)
    try:
        print("read replica (scripts/services.sh start-replica)")
        report("replay lag", replay_lag(database, replica_database, args.commits))
        for name, read_url in (("nearby, primary", ""), ("nearby, replica", replica_database)):
            config = bench_config(DATABASE_URL=database, READ_DATABASE_URL=read_url, SECRET_KEY="b")
            platform = Platform(config)
            allow_silence_since_seeding(platform)
            report(name, searches(platform, args.queries))
            platform.dispose()
    finally:
        if copied:
            subprocess.run([SCRIPT, "stop-replica"], check=True, timeout=120)
    print(f"  ({METRO.city_id}: the nearby benchmark's city)")


if __name__ == "__main__":
    main()
