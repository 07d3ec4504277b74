"""The CPU one unlock costs the platform's own code, in one process: no HTTP server, no
broker round trip, no lock. Steadier than `bench.scan_latency` on a shared machine, so it is
how docs/performance.md compares one change with the next.

Per unlock, through the real database: the app (Flask's test client) takes a scan
(`POST /api/v1/rentals`), the `unlocked` event of the lock is applied by the use case lockctl
runs (`lock_events.apply`), and the rider reads the rental with `?wait=10`, which answers at
once. The CPU time of the process (`time.process_time`) is summed for the two requests and
for the event, over `--rounds` rounds of every rider after one round of warm-up.

    python -m bench.unlock_cpu --riders 100 --rounds 3
"""

import argparse
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from bench.harness import PASSWORD, Bench
from rental.app import create_app
from rental.services import lock_events
from rental.services.lock_reports import LockEventKind, LockEventReported, ReportSettings

# Seeded locks as if they had just reported: online, closed, heard from (for a day).
READY = "UPDATE locks SET online = true, locked = true, boot = 1, last_seen_at = now() + '1 day'"
# Between rounds: rides over, latches closed again (no fare: nothing here is billed).
RESET = (
    "UPDATE rentals SET state = 'ended', ended_at = now() WHERE state = 'active'",
    "UPDATE locks SET locked = true, latch_boot = NULL, latch_seq = NULL",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.unlock_cpu")
    parser.add_argument("--riders", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    bench = Bench(args.riders)
    bench.seed()
    try:
        api, event = measure(bench, args.rounds)
    finally:
        bench.forget_locks()
    print(f"CPU per unlock: API {api:.2f} ms (scan and watch), event {event:.2f} ms")


def measure(bench: Bench, rounds: int) -> tuple[float, float]:
    """Milliseconds of CPU per unlock: the two requests, and the event."""
    with bench.platform.engine.begin() as connection:
        connection.execute(text(READY))
        rows = connection.execute(text("SELECT code, lock_id FROM assets"))
        locks: dict[str, str] = {code: lock_id for code, lock_id in rows}
    client = create_app({"RATELIMIT_ENABLED": False}, platform=bench.platform).test_client()
    headers = []
    for number in range(bench.riders):
        signed_in = {"phone": f"1{number:010d}", "password": PASSWORD}
        token = client.post("/api/v1/auth/token", json=signed_in).get_json()["access_token"]
        headers.append({"Authorization": f"Bearer {token}"})
    settings = ReportSettings(0, 20)
    api = event = 0.0
    seq = 0
    for round_number in range(rounds + 1):  # round 0 warms up
        for number, code in enumerate(bench.codes):
            body = {"qr": f"https://ride.example/q/{code}", "idempotency_key": uuid.uuid4().hex}
            began = time.process_time()
            scanned = client.post("/api/v1/rentals", json=body, headers=headers[number])
            asked = time.process_time()
            rental = scanned.get_json()
            if scanned.status_code != 202 or rental["state"] != "unlocking":
                raise RuntimeError(f"scan {number}: {scanned.status_code} {rental}")
            seq += 1
            opened = _unlocked(bench, locks[code], rental["id"], seq)
            answered = time.process_time()
            lock_events.apply(bench.platform.uow, opened, settings)
            applied = time.process_time()
            shown = client.get(f"/api/v1/rentals/{rental['id']}?wait=10", headers=headers[number])
            watched = time.process_time()
            if shown.get_json()["state"] != "active":
                raise RuntimeError(f"rental {rental['id']}: {shown.get_json()}")
            if round_number:
                api += (asked - began) + (watched - applied)
                event += applied - answered
        with bench.platform.engine.begin() as connection:
            for statement in RESET:
                connection.execute(text(statement))
    unlocks = rounds * bench.riders
    return 1000 * api / unlocks, 1000 * event / unlocks


def _unlocked(bench: Bench, lock_id: str, rental_id: str, seq: int) -> LockEventReported:
    """The lock's `unlocked` event for the rental's command, as lockctl decodes it."""
    with bench.platform.engine.connect() as connection:
        command = connection.execute(
            text("SELECT unlock_command_id FROM rentals WHERE id = :id"), {"id": rental_id}
        ).scalar_one()
    now = datetime.now(UTC)
    return LockEventReported(
        lock_id, 1, seq, LockEventKind.UNLOCKED, now, now, command_id=str(command)
    )


if __name__ == "__main__":
    main()
