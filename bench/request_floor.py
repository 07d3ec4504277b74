"""What the API's stack costs before any work of ours: the CPU of a request that does
nothing, and of a signed-in one that reads one row, under gunicorn as the unlock benchmark
runs it; and the client CPU of one database round trip, with one thread and with as many
as an API worker runs. docs/performance.md sets them against an unlock's budget.

    python -m bench.request_floor --clients 100 --requests 30

- `GET /healthz`: gunicorn, Flask and the API's own hooks (request id, metrics, log line).
- `GET /api/v1/rentals/<unknown id>`: the same, a bearer token checked and its session
  read (one statement), the rental looked for (one statement) and a 404 answered.
- `SELECT 1` on psycopg alone (no SQLAlchemy), autocommit and in a transaction, from 1
  and from 32 threads of one process, each thread on a connection of its own.
"""

import argparse
import threading
import time
import uuid
from collections.abc import Callable

import psycopg

from bench.harness import API_THREADS, Bench
from bench.scan_latency import Rider
from rental.bootstrap import libpq_url


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_floor")
    parser.add_argument("--clients", type=int, default=100, help="at once, kept alive")
    parser.add_argument("--requests", type=int, default=30, help="per client and route")
    parser.add_argument("--statements", type=int, default=6000, help="per round-trip shape")
    args = parser.parse_args()

    bench = Bench(args.clients)
    print(f"seeding {args.clients} riders ...", flush=True)
    bench.seed()
    with bench.running():
        bench.sign_in_all()
        riders = [Rider(bench, number) for number in range(args.clients)]
        print(
            f"\nAPI: {bench.api_workers} workers x {bench.api_threads} threads,"
            f" {args.clients} clients at once"
        )
        for name, path in (
            ("nothing (GET /healthz)", lambda: "/healthz"),
            ("signed in, one read (404)", lambda: f"/api/v1/rentals/{uuid.uuid4()}"),
        ):
            spent, took = _requests(bench, riders, path, args.requests)
            count = args.clients * args.requests
            per = ", ".join(f"{key} {1000 * value / count:.2f}" for key, value in spent.items())
            print(f"  {name:28s} {count / took:6.0f}/s   CPU ms per request: {per}")
    print("\nround trips, psycopg alone (client CPU per statement)")
    url = libpq_url(bench.database_url)
    for threads in (1, API_THREADS):
        for in_transaction in (False, True):
            microseconds = _round_trips(url, threads, args.statements // threads, in_transaction)
            shape = "BEGIN, SELECT 1, COMMIT" if in_transaction else "SELECT 1, autocommit"
            print(f"  {threads:3d} thread(s), {shape:24s} {microseconds:6.1f} us")


def _requests(
    bench: Bench, riders: list[Rider], path: Callable[[], str], count: int
) -> tuple[dict[str, float], float]:
    """CPU seconds of the API, PostgreSQL and the clients while every rider makes `count`
    requests (after one each to warm up), and the seconds it took."""
    meter = bench.cpu_meter()
    for name in ("lockctl", "simulator", "mosquitto"):
        meter.roots.pop(name, None)  # up, but not what is measured
    start = threading.Barrier(len(riders) + 1)

    def client(rider: Rider) -> None:
        rider.call("GET", path())
        start.wait()
        for _ in range(count):
            rider.call("GET", path())

    threads = [threading.Thread(target=client, args=(rider,)) for rider in riders]
    for thread in threads:
        thread.start()
    with meter.measuring() as spent:
        began = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - began
    return spent, took


def _round_trips(url: str, threads: int, each: int, in_transaction: bool) -> float:
    """Microseconds of this process's CPU per `SELECT 1`, `threads` threads at once."""
    connections = [psycopg.connect(url, autocommit=not in_transaction) for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def run(connection: psycopg.Connection) -> None:
        start.wait()
        for _ in range(each):
            connection.execute("SELECT 1").fetchone()
            if in_transaction:
                connection.commit()

    workers = [threading.Thread(target=run, args=(c,)) for c in connections]
    for worker in workers:
        worker.start()
    began = time.process_time()
    start.wait()
    for worker in workers:
        worker.join()
    spent = time.process_time() - began
    for connection in connections:
        connection.close()
    return 1e6 * spent / (threads * each)


if __name__ == "__main__":
    main()
