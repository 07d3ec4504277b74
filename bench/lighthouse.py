"""Lighthouse's scores for the rider app on a phone: performance, accessibility, best
practices and PWA, from one run of Lighthouse 11 (the last with the PWA category; from
the npm registry, bench/lighthouse/package.json) against Debian's Chromium.

The API runs under gunicorn as deployed (2 workers), on the database of `var/env.sh`.
Lighthouse's default mobile profile applies: a mid-range phone's screen, a 4x slower CPU
and a slow 4G link, simulated. The page is the app's first screen, as a rider opening the
link of a QR code for the first time sees it. Reports (HTML and JSON) go to
var/test-artifacts/lighthouse/. Exits 1 when performance is under `--min-performance`.

    python -m bench.lighthouse [--path /app/] [--min-performance 90]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "bench" / "lighthouse"
REPORTS = ROOT / "var" / "test-artifacts" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "pwa")
CHROMIUM_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run"


@contextmanager
def api() -> Iterator[str]:
    """The API under gunicorn on a free loopback port, until the block ends."""
    port = free_port()
    log = ROOT / "var" / "log" / "bench-lighthouse-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "2"),
                "rental.app:create_app()",
            ],
            env={
                "SECRET_KEY": "lighthouse",
                **os.environ,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            },
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start (var/log/bench-lighthouse-api.log)")


def lighthouse(url: str) -> dict[str, float]:
    """Each category's score (0-100) of one Lighthouse run on `url`."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / "rider-app"
    subprocess.run(
        [
            str(TOOL / "node_modules" / ".bin" / "lighthouse"),
            url,
            f"--only-categories={','.join(CATEGORIES)}",
            "--output=json",
            "--output=html",
            f"--output-path={out}",
            f"--chrome-flags={CHROMIUM_FLAGS}",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": os.environ.get("CHROMIUM", "/usr/bin/chromium")},
        check=True,
    )
    report = json.loads((REPORTS / "rider-app.report.json").read_text())
    return {name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/app/")
    parser.add_argument("--min-performance", type=int, default=90)
    args = parser.parse_args()
    with api() as base:
        scores = lighthouse(base + args.path)
    print(f"Lighthouse 11 (mobile profile) on {args.path}:")
    for name, score in scores.items():
        print(f"  {name:15} {score:3d}")
    print(f"reports: {REPORTS.relative_to(ROOT)}/rider-app.report.html")
    if scores["performance"] < args.min_performance:
        sys.exit(1)


if __name__ == "__main__":
    main()
