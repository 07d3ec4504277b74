"""Limits count across gunicorn workers: two workers, one Redis, one count.

gunicorn runs as in production (`rental.app:create_app()`, gthread workers), with a low
sign-in limit per phone, and writes each answer's worker pid to its access log. The test
shows the limit holds in total: exactly its number of attempts get through, and each
worker refuses attempts the other one let through.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers import eventually, rate_limit_settings

ROOT = Path(__file__).resolve().parents[2]
SIGN_INS_PER_MINUTE = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    def __init__(self, database_url: str, log_dir: Path, settings: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.access_log = log_dir / "access.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": uuid.uuid4().hex,
            **settings,
        }
        self._output = (log_dir / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                self.url.removeprefix("http://"),
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--access-logfile",
                str(self.access_log),
                # The worker's pid, the status and the path of every answer.
                "--access-logformat",
                "%(p)s %(s)s %(U)s",
                "rental.app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def answers(self, path: str) -> list[tuple[str, int]]:
        """(worker pid, status) of every answer to `path`, in the order they were logged."""
        if not self.access_log.exists():
            return []
        found = []
        for line in self.access_log.read_text().splitlines():
            pid, status, logged_path = line.split(" ", 2)
            if logged_path == path:
                found.append((pid, int(status)))
        return found

    def wait_for_both_workers(self) -> None:
        """Until each worker has answered a health check (new connections spread them)."""

        def both_answered() -> bool:
            try:
                requests.get(f"{self.url}/healthz", timeout=10)  # a worker may still be booting
            except requests.RequestException:
                return False
            return len({pid for pid, _ in self.answers("/healthz")}) == 2

        eventually(both_answered, timeout=60, what="both gunicorn workers to answer")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._output.close()


@pytest.fixture
def gunicorn(database_url, tmp_path) -> Iterator[Gunicorn]:
    if not os.environ.get("RATELIMIT_STORAGE_URI", "").startswith("redis://"):
        pytest.fail("RATELIMIT_STORAGE_URI names no Redis: run the suite with `make test`")
    settings = rate_limit_settings(RATE_LIMIT_SIGN_IN_PER_PHONE=f"{SIGN_INS_PER_MINUTE}/minute")
    server = Gunicorn(database_url, tmp_path, settings)
    try:
        server.wait_for_both_workers()
        yield server
    finally:
        server.stop()


def test_the_sign_in_limit_holds_in_total_across_two_workers(gunicorn):
    phone = f"1{uuid.uuid4().int % 10**10:010d}"

    def attempt(_: int) -> int:
        # A connection each (no session): gunicorn hands each to whichever worker is free.
        body = {"phone": phone, "password": "a wrong guess"}
        return requests.post(f"{gunicorn.url}/api/v1/auth/token", json=body).status_code

    statuses: list[int] = []
    answers: list[tuple[str, int]] = []
    deadline = time.monotonic() + 60
    while not refused_by_both(answers) and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses += pool.map(attempt, range(12))
        answers = logged_answers(gunicorn, len(statuses))

    assert set(statuses) == {401, 429}, Counter(statuses)
    assert statuses.count(401) == SIGN_INS_PER_MINUTE, Counter(statuses)
    let_through = [pid for pid, status in answers if status == 401]
    assert len(let_through) == SIGN_INS_PER_MINUTE, answers
    # Counting on its own, a worker refuses only once it has let the whole limit through
    # itself: both refusing, with the limit let through once in all, means each worker
    # counted the other's attempts.
    assert refused_by_both(answers), f"one worker answered every refusal: {answers}"


def logged_answers(server: Gunicorn, count: int) -> list[tuple[str, int]]:
    """The sign-in answers once the access log holds all `count` of them: gunicorn writes a
    line after it has sent the answer, so the client may see an answer before its line."""
    eventually(
        lambda: len(server.answers("/api/v1/auth/token")) >= count,
        timeout=10,
        what=f"{count} sign-in answers in the access log",
    )
    return server.answers("/api/v1/auth/token")


def refused_by_both(answers: list[tuple[str, int]]) -> bool:
    return len({pid for pid, status in answers if status == 429}) == 2
