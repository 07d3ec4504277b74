"""Telemetry ingest: fixes per second from the broker into PostgreSQL, and what a flood
of them does to scans.

A fleet of `--locks` locks, each with its own broker account, publishes QoS 0 telemetry
(docs/lock-protocol.md §6) at `--rate` fixes/s in total for `--seconds`, through the
project's Mosquitto to a running lockctl (`python -m lockctl`) and its database. The
publishers (`bench.flood`) frame MQTT by hand in `--publishers` processes so that they
are not what limits the rate: the report sets the rate they really offered beside the
rate stored. The flood's bikes are being ridden, as at a city's peak: each is in an
active rental and reports its latch open. Measured:
- stored: rows in `lock_positions` during the flood (per second over the flood, and in
  all once lockctl has caught up), and how many of the fixes sent were never stored;
- lag: from a fix's `ts` (the publisher's clock when it sent it) to the moment the row
  is seen committed, polled every 20 ms on a sample of the locks (`--probes`);
- order: every lock's latch must end at the (boot, seq) of its last fix;
- `--repeat-share` of the fixes is sent twice and must be stored once; `--bad-share`
  carries an unusable field (latitude out of range, NaN longitude, a string battery).

`--scan` runs the platform as `bench.scan_latency` does (API, lockctl, simulator) and
measures scan-to-unlocked for riders arriving one after another, first without
telemetry and then during the flood: events must not wait behind telemetry.

    make bench   (python -m bench.telemetry_ingest --rate 20000 --seconds 15, and --scan)
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import text

from bench.flood import FloodLock, FloodResult, flood, open_connection
from bench.harness import ROOT, Bench, bench_config, bench_database, free_port
from bench.scan_latency import end_all_rides, one_scan, percentile
from rental.adapters.locks.mqtt import BrokerAddress
from rental.adapters.tables import metadata
from rental.bootstrap import Platform
from rental.domain.cities import City
from rental.domain.fleet import AssetKind, Lock
from rental.domain.pricing import Tariff
from rental.services import assets
from rental.services.commands.assets import RegisterVehicle

CITY = "bench"
BOOT = 7
POLL_SECONDS = 0.02
# The count of all rows stored reads every row of the flood (a growing partition): once a
# second is enough for the rate, and costs the platform it measures little CPU.
COUNT_SECONDS = 1.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Once the publishers stopped, how long lockctl may take to store what it holds.
DRAIN_SECONDS = 30.0
FLEET_FILE = ROOT / "var" / "bench" / "telemetry-fleet.json"


@dataclass
class Observed:
    """What the poller saw while the flood ran (`time.time()` seconds)."""

    lags: list[float] = field(default_factory=list)  # seconds, one per probed fix
    counts: list[tuple[float, int]] = field(default_factory=list)  # (when, rows stored)


def seed_flood_fleet(platform: Platform, count: int, *, truncate: bool) -> list[FloodLock]:
    """`count` bikes in the bench city, each with its lock, whose broker accounts are kept
    from one run to the next in FLEET_FILE: the broker saves its whole account file at
    every change, and making 500 accounts takes more than a minute."""
    if truncate:
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        with platform.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        with platform.uow() as uow:
            uow.cities.add(City(CITY, "Bench City", "Asia/Shanghai", "CNY", "zh-CN", 121.47, 31.23))
            uow.commit()
    fleet = broker_accounts_for(platform, count)
    for number, lock in enumerate(fleet):
        with platform.uow() as uow:
            uow.locks.add(Lock(lock.lock_id, secrets.token_bytes(32)))
            uow.commit()
        assets.register_asset(
            platform.uow(),
            RegisterVehicle(f"FB-{number:05d}", AssetKind.BIKE, CITY, lock.lock_id),
        )
    return fleet


# Each flood bike in a ride of its own, as at a city's peak, where the fixes come from
# bikes being ridden: a rider each (one open rental per rider), the rental active since
# the seeding, at the bench city's tariff. Written in SQL: 500 sign-ups would cost more
# than the flood.
START_RIDES = """
WITH riders AS (
    INSERT INTO users (id, phone, name, role, password_hash)
    SELECT gen_random_uuid(), '+8619' || lpad(n::text, 9, '0'), 'Flood rider ' || n, 'rider',
           'no password'
    FROM generate_series(1, :count) AS n
    RETURNING id, CAST(right(phone, 9) AS bigint) AS n
), bikes AS (
    SELECT assets.id, assets.lock_id, row_number() OVER (ORDER BY assets.code) AS n
    FROM assets WHERE assets.code LIKE 'FB-%'
)
INSERT INTO rentals (id, rider_id, asset_id, lock_id, idempotency_key, state, tariff,
                     requested_at, started_at)
SELECT gen_random_uuid(), riders.id, bikes.id, bikes.lock_id, 'flood-' || bikes.n, 'active',
       CAST(:tariff AS jsonb), now(), now()
FROM riders JOIN bikes USING (n)
"""
FLOOD_TARIFF = Tariff("CNY", 0, 150, 1800)


def start_rides(platform: Platform, count: int) -> None:
    with platform.engine.begin() as connection:
        connection.execute(
            text(START_RIDES), {"count": count, "tariff": json.dumps(asdict(FLOOD_TARIFF))}
        )


def broker_accounts_for(platform: Platform, count: int) -> list[FloodLock]:
    """The flood's locks as the broker knows them: those kept, checked, and new ones."""
    kept = []
    if FLEET_FILE.exists():
        kept = [FloodLock(**lock) for lock in json.loads(FLEET_FILE.read_text())]
        address = broker()
        try:
            if kept:
                open_connection(address.host, address.port, kept[0]).close()
        except (OSError, ConnectionError):
            kept = []  # a broker set up anew since
    accounts = platform.accounts()
    while len(kept) < count:
        lock = FloodLock(f"FLOOD-{len(kept):05d}", secrets.token_urlsafe(18))
        accounts.create_lock_account(lock.lock_id, lock.password)
        kept.append(lock)
        if len(kept) % 100 == 0 or len(kept) == count:
            FLEET_FILE.parent.mkdir(parents=True, exist_ok=True)
            FLEET_FILE.write_text(json.dumps([asdict(lock) for lock in kept]))
    return kept[:count]


@contextmanager
def running_lockctl(database_url: str, metrics_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m lockctl` on the bench database, as in production; its log in var/log."""
    run = uuid.uuid4().hex[:8]
    logs = ROOT / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOCKCTL_INSTANCE": f"bench-{run}",
        "LOCKCTL_SHARE_GROUP": f"bench-{run}",
        "LOCKCTL_PERSISTENT_SESSION": "0",
        "LOCKCTL_METRICS_PORT": str(metrics_port),
    }
    with open(logs / "bench-telemetry-lockctl.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lockctl"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # still working through a backlog
                process.kill()
                process.wait()


def stored_rows(platform: Platform, since: datetime = EPOCH) -> int:
    """Fixes dated `since` or later: the benchmark's own are, and counting only them reads
    only the newest day's partition, from its BRIN index."""
    with platform.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM lock_positions WHERE recorded_at >= :since"),
                {"since": since},
            ).scalar_one()
        )


def wait_for_rows(platform: Platform, rows: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while stored_rows(platform) < rows:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"lockctl stored {stored_rows(platform)} of {rows} fixes in {timeout:g} s; "
                "see var/log/bench-telemetry-lockctl.log"
            )
        time.sleep(0.2)


def poll(
    platform: Platform,
    probes: list[str],
    after_seq: int,
    since: datetime,
    stop: threading.Event,
    seen: Observed,
) -> None:
    """Every POLL_SECONDS, the probes' new rows after `after_seq` (their lag), and every
    COUNT_SECONDS the count."""
    after = [after_seq] * len(probes)
    query = text(
        "SELECT p.n, lp.seq, extract(epoch FROM lp.recorded_at) "
        "FROM unnest(CAST(:ids AS text[]), CAST(:after AS bigint[])) "
        "  WITH ORDINALITY AS p(id, after, n) "
        "CROSS JOIN LATERAL (SELECT seq, recorded_at FROM lock_positions "
        "  WHERE lock_id = p.id AND boot = CAST(:boot AS bigint) AND seq > p.after"
        "  ORDER BY seq LIMIT 1000) AS lp"
    )
    last_count = 0.0
    with platform.engine.connect() as connection:
        # The probes' new rows are found by the primary key (lock_id, boot, seq), in its
        # order. A time bound would let the planner prefer (lock_id, recorded_at): the day's
        # partition was last analyzed before the flood, so it expects no row after its
        # start, and each poll would read every row of the flood a probe sent, taking most
        # of a core from the platform it measures (as a sequential scan of the partition
        # did when its statistics said it was empty).
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.commit()
        while not stop.is_set():
            asked = time.time()
            asking = {"ids": probes, "after": after, "boot": BOOT}
            rows = connection.execute(query, asking).all()
            connection.commit()
            for n, seq, recorded_at in rows:
                seen.lags.append(max(0.0, asked - float(recorded_at)))
                after[n - 1] = max(after[n - 1], seq)
            if asked - last_count >= COUNT_SECONDS:
                seen.counts.append((asked, stored_rows(platform, since)))
                last_count = asked
            stop.wait(max(0.0, POLL_SECONDS - (time.time() - asked)))


def rows_per_second(counts: list[tuple[float, int]], start: float, end: float) -> float:
    """Rows stored per second between two moments, from the poller's counts."""
    inside = [(when, count) for when, count in counts if start <= when <= end]
    if len(inside) < 2:
        return 0.0
    (first_at, first), (last_at, last) = inside[0], inside[-1]
    return (last - first) / (last_at - first_at)


def drain(platform: Platform, expected: int, since: datetime) -> float:
    """Wait until the rows stop growing (or all expected are in); when the last came."""
    last, last_change = stored_rows(platform, since), time.time()
    deadline = time.monotonic() + DRAIN_SECONDS
    while last < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        now = stored_rows(platform, since)
        if now != last:
            last, last_change = now, time.time()
        elif time.time() - last_change > 5:
            break
    return last_change


def latches_out_of_order(platform: Platform, last_seq: dict[str, int]) -> int:
    """Locks whose latch is not at the (boot, seq) of their last fix."""
    with platform.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, latch_boot, latch_seq FROM locks WHERE id = ANY(:ids)"),
            {"ids": list(last_seq)},
        ).all()
    return sum(1 for lock_id, boot, seq in rows if (boot, seq) != (BOOT, last_seq[lock_id]))


def lockctl_counters(port: int) -> dict[str, float]:
    """lockctl's own counters of dropped and refused telemetry, from its metrics."""
    wanted = (
        "lockctl_dropped_telemetry_total",
        "lockctl_telemetry_shed_total",
        "lockctl_dead_letters_total",
    )
    try:
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except requests.RequestException:
        return {}
    found = {}
    for line in body.splitlines():
        name, _, value = line.partition(" ")
        if name.split("{")[0] in wanted:
            found[name] = float(value)
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU used so far by the project-local PostgreSQL: its postmaster and every process
    it started (backends, WAL writer, checkpointer...)."""
    try:
        postmaster = int((ROOT / "var" / "pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    used = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def mosquitto_pid() -> int | None:
    pidfile = ROOT / "var" / "mosquitto" / "mosquitto.pid"
    try:
        return int(pidfile.read_text())
    except (OSError, ValueError):
        return None


def broker() -> BrokerAddress:
    return BrokerAddress.from_url(os.environ["MQTT_URL"])


def measure_ingest(args: argparse.Namespace) -> None:
    url = bench_database()
    config = bench_config(DATABASE_URL=url, MQTT_URL=os.environ["MQTT_URL"], SECRET_KEY="bench")
    platform = Platform(config)
    print(f"seeding {args.locks} locks ...", flush=True)
    began = time.monotonic()
    fleet = seed_flood_fleet(platform, args.locks, truncate=True)
    start_rides(platform, len(fleet))
    print(f"  seeded in {time.monotonic() - began:.1f} s", flush=True)
    address = broker()
    metrics_port = free_port()
    with running_lockctl(url, metrics_port) as lockctl:
        time.sleep(3)  # lockctl renews its broker account and subscribes
        # One fix per lock first: lockctl is subscribed, the connections and caches warm.
        warm_rate = min(2000.0, 20.0 * len(fleet))
        flood(
            address.host,
            address.port,
            fleet,
            rate=warm_rate,
            seconds=(len(fleet) + 0.5) / warm_rate,
            boot=BOOT,
            first_seq=1,
            processes=1,
            riding=True,
        )
        wait_for_rows(platform, len(fleet), timeout=120)
        first_seq = 2
        for rate in args.rate:
            first_seq = run_flood(args, platform, fleet, rate, first_seq, lockctl.pid, metrics_port)


def run_flood(
    args: argparse.Namespace,
    platform: Platform,
    fleet: list[FloodLock],
    rate: float,
    first_seq: int,
    lockctl_pid: int,
    metrics_port: int,
) -> int:
    """One flood at `rate`, reported; returns the seq the next flood starts from."""
    address = broker()
    probes = [lock.lock_id for lock in fleet[:: max(1, len(fleet) // args.probes)]]
    # Every fix of this flood is dated from now on (by the publishers' clock, as sent).
    since = datetime.now(UTC) - timedelta(seconds=1)
    before = stored_rows(platform, since)
    seen = Observed()
    stop = threading.Event()
    poller = threading.Thread(
        target=poll, args=(platform, probes, first_seq - 1, since, stop, seen), daemon=True
    )
    broker_pid = mosquitto_pid()
    cpu_before = time.time(), cpu_seconds(lockctl_pid), cpu_seconds(broker_pid or lockctl_pid)
    postgres_before = postgres_cpu_seconds()
    poller.start()
    results = flood(
        address.host,
        address.port,
        fleet,
        rate=rate,
        seconds=args.seconds,
        boot=BOOT,
        first_seq=first_seq,
        processes=args.publishers,
        repeat_share=args.repeat_share,
        bad_share=args.bad_share,
        riding=True,
    )
    published_until = max(result.ended for result in results)
    last_stored = drain(platform, before + expected_rows(results), since)
    stop.set()
    poller.join()
    cpu_after = time.time(), cpu_seconds(lockctl_pid), cpu_seconds(broker_pid or lockctl_pid)
    cpu_wall = cpu_after[0] - cpu_before[0]
    # CPU seconds each used, from before the flood until all was stored.
    cpu = {"lockctl": cpu_after[1] - cpu_before[1]}
    if broker_pid:
        cpu["mosquitto"] = cpu_after[2] - cpu_before[2]
    cpu["postgres"] = postgres_cpu_seconds() - postgres_before
    last_seqs = {lock: seq for result in results for lock, seq in result.last_seq.items()}
    report_flood(
        f"{rate:,.0f} fixes/s asked from {len(fleet)} locks for {args.seconds:g} s "
        f"({args.publishers} publisher processes, lag of {len(probes)} locks)",
        results,
        seen,
        stored=stored_rows(platform, since) - before,
        published_until=published_until,
        last_stored=last_stored,
        out_of_order=latches_out_of_order(platform, last_seqs),
        cpu=cpu,
        cpu_wall=cpu_wall,
        counters=lockctl_counters(metrics_port),
    )
    return max(last_seqs.values(), default=first_seq) + 1


def expected_rows(results: list[FloodResult]) -> int:
    return sum(result.unique - result.without_position for result in results)


def report_flood(
    title: str,
    results: list[FloodResult],
    seen: Observed,
    *,
    stored: int,
    published_until: float,
    last_stored: float,
    out_of_order: int,
    cpu: dict[str, float],
    cpu_wall: float,
    counters: dict[str, float],
) -> None:
    began = min(result.began for result in results)
    late = max(result.began for result in results) - began
    seconds = published_until - began
    unique = sum(result.unique for result in results)
    sent = sum(result.sent for result in results)
    expected = expected_rows(results)
    steady = rows_per_second(seen.counts, began + 1.0, published_until)
    overall = stored / max(last_stored - began, 1e-9)
    lags = seen.lags
    print(f"\ntelemetry ingest: {title}")
    # Each publisher's own rate: a publisher that started late still offered its share.
    offered = sum(result.unique / (result.ended - result.began) for result in results)
    print(
        f"  offered   {offered:9,.0f} fixes/s  ({unique:,} fixes, {sent:,} messages "
        f"with {sent - unique:,} repeats, {sum(r.bad for r in results):,} with a bad field; "
        f"the publishers started {late:.2f} s apart)"
    )
    print(f"  stored    {steady:9,.0f} fixes/s during the flood")
    print(
        f"            {overall:9,.0f} fixes/s from the first fix sent to the last stored "
        f"({last_stored - published_until:+.1f} s after the publishers stopped)"
    )
    print(
        f"  not stored{expected - stored:9,} of {expected:,} fixes with a usable position "
        f"({(expected - stored) / max(expected, 1):.1%}) {DRAIN_SECONDS:g} s after the flood"
    )
    if lags:
        ms = [lag * 1000 for lag in lags]
        print(
            f"  lag       p50 {percentile(ms, 0.5):,.0f} ms  p95 {percentile(ms, 0.95):,.0f} ms"
            f"  p99 {percentile(ms, 0.99):,.0f} ms  max {max(ms):,.0f} ms  "
            f"({len(ms):,} fixes, polled every {POLL_SECONDS * 1000:.0f} ms)"
        )
    print(f"  order     {out_of_order} locks whose latch is not at their last fix")
    publishing = sum(result.cpu for result in results) / seconds
    print(
        "  cpu       "
        + "  ".join(f"{name} {used / cpu_wall:.0%}" for name, used in cpu.items())
        + f"  (of one core, from the flood's start until stored)  publishers {publishing:.0%}"
    )
    # CPU time per fix stored is what holds on another machine, where shares do not.
    print(
        "  per fix   "
        + "  ".join(f"{name} {used / max(stored, 1) * 1e6:,.0f} µs" for name, used in cpu.items())
        + " of CPU per fix stored"
    )
    if counters:
        print("  lockctl   " + "  ".join(f"{k} {v:,.0f}" for k, v in counters.items()))


def scans_during(bench: Bench, interval: float, riders: int) -> tuple[list[float], list[str]]:
    """Each rider scans once, `interval` s after the previous; latencies and failures."""
    start = threading.Barrier(riders)
    latencies: list[float] = []
    failures: list[str] = []

    def scan(number: int) -> None:
        try:
            latencies.append(one_scan(bench, number, start, number * interval))
        except (RuntimeError, requests.RequestException) as error:
            failures.append(str(error)[:120])

    with ThreadPoolExecutor(max_workers=riders) as pool:
        list(pool.map(scan, range(riders)))
    return latencies, failures


def report_scans(title: str, latencies: list[float], failures: list[str]) -> None:
    ms = [value * 1000 for value in latencies]
    print(f"\nscan-to-unlocked, {title}: {len(ms)} unlocked, {len(failures)} failed", flush=True)
    if ms:
        print(
            f"  p50 {percentile(ms, 0.5):,.0f} ms  p90 {percentile(ms, 0.9):,.0f} ms"
            f"  p99 {percentile(ms, 0.99):,.0f} ms  max {max(ms):,.0f} ms"
        )
    for failure in sorted(set(failures))[:3]:
        print(f"  {failure}")
    sys.stdout.flush()


def measure_scans(args: argparse.Namespace) -> None:
    bench = Bench(args.riders)
    print(f"seeding {args.riders} riders and {args.locks} flooding locks ...", flush=True)
    bench.seed()
    fleet = seed_flood_fleet(bench.platform, args.locks, truncate=False)
    address = broker()
    interval = max(0.05, (args.seconds - 4) / args.riders)
    with bench.running():
        bench.sign_in_all()
        quiet = scans_during(bench, interval, args.riders)
        end_all_rides(bench)
        flooding = threading.Thread(
            target=flood,
            args=(address.host, address.port, fleet),
            kwargs={
                "rate": args.rate[0],
                "seconds": args.seconds,
                "boot": BOOT,
                "first_seq": 1,
                "processes": args.publishers,
            },
        )
        flooding.start()
        time.sleep(4.0)  # the publishers connect, then the flood runs 2 s alone
        busy = scans_during(bench, interval, args.riders)
        flooding.join()
        # Reported before the platform stops: a lockctl with a backlog may be slow to.
        report_scans(f"{args.riders} riders {interval:.2f} s apart, no telemetry", *quiet)
        report_scans(
            f"the same during {args.rate[0]:,.0f} telemetry fixes/s from {args.locks} locks",
            *busy,
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry_ingest")
    parser.add_argument("--locks", type=int, default=500)
    parser.add_argument(
        "--rate",
        type=lambda value: [float(rate) for rate in value.split(",")],
        default=[20000.0],
        help="fixes/s offered in all; several, comma-separated, run one after another",
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--probes", type=int, default=20, help="locks whose lag is measured")
    parser.add_argument("--repeat-share", type=float, default=0.01)
    parser.add_argument("--bad-share", type=float, default=0.001)
    parser.add_argument("--scan", action="store_true", help="scan-to-unlocked during a flood")
    parser.add_argument("--riders", type=int, default=20, help="with --scan")
    args = parser.parse_args()
    if args.scan:
        measure_scans(args)
    else:
        measure_ingest(args)


if __name__ == "__main__":
    main()
