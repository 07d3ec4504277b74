"""The platform as an operator installs it: a wheel built from this tree, installed into a
virtual environment of its own outside the tree, migrates a database and serves the rider
app, the console, the API's reference and the front-end libraries they load, under
gunicorn, with no checkout in sight.

The wheel is installed without its dependencies, which the new environment borrows from
the one running the tests (a path line, not their `.pth` files: this tree's editable
install stays out), so that the test takes seconds rather than a minute of downloads.
`make dist-check` sets WHEEL_TEST_FULL_INSTALL=1: the dependencies are installed too, as
`pip install` does on a server.
"""

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from rental.bootstrap import libpq_url

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/app/", "/ops/", "/api/docs")
# What the pages load from this origin: scripts, styles, icons, the manifest.
LOADED = re.compile(r"""(?:src|href)="(/[^"]*)\"""")
FULL_INSTALL = os.environ.get("WHEEL_TEST_FULL_INSTALL") == "1"


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new virtual environment with the wheel installed in it."""
    assert (ROOT / "rental/web/vendor/leaflet/leaflet.js").exists(), (
        "the front-end libraries are not in the package: make install (scripts/web.sh vendor)"
    )
    place = tmp_path_factory.mktemp("wheel")
    assert ROOT not in place.parents
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "-w", place / "dist", ROOT, cwd=place)
    (wheel,) = (place / "dist").glob("rental-*.whl")
    run(sys.executable, "-m", "venv", place / "venv", cwd=place)
    python = place / "venv/bin/python"
    if FULL_INSTALL:
        run(python, "-m", "pip", "install", "-q", wheel, cwd=place)
    else:
        where = "import sysconfig; print(sysconfig.get_path('purelib'))"
        site = run(python, "-c", where, cwd=place)
        (Path(site.strip()) / "borrowed-dependencies.pth").write_text(
            sysconfig.get_path("purelib") + "\n"
        )
        run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=place)
    return python


@pytest.fixture(scope="module")
def scratch_database() -> Iterator[str]:
    """A database of its own, empty: the installed package migrates it."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`")
    url = make_url(base)
    name = f"{url.database}_wheel"
    admin = libpq_url(url.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(installed: Path, scratch_database: str) -> Iterator[str]:
    """The installed API under gunicorn, started outside the tree, on its own database."""
    home = installed.parents[2]
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "DATABASE_URL": scratch_database,
        "SECRET_KEY": uuid.uuid4().hex,
        # The key that seals locks' signing keys where the release requires one (a Fernet key).
        "LOCK_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    migrated = subprocess.run(
        [str(installed), "-m", "rental", "db", "upgrade"],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    port = free_port()
    log = (home / "api.log").open("w")
    server = subprocess.Popen(
        [
            *(str(installed), "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"),
            *("--config", "python:rental.entrypoints.gunicorn_config", "rental.app:create_app()"),
        ],
        cwd=home,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{url}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or its worker booting
                pass
            assert server.poll() is None, (home / "api.log").read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        server.wait(10)
        log.close()


def test_the_package_runs_from_the_wheel_not_from_this_tree(installed):
    where = run(installed, "-c", "import rental; print(rental.__file__)", cwd=installed.parent)

    assert Path(where.strip()).is_relative_to(installed.parents[1])


def test_the_installed_package_serves_every_page_and_all_that_each_loads(served):
    loaded = set()
    for page in PAGES:
        answer = requests.get(served + page, timeout=10)
        assert answer.status_code == 200 and "text/html" in answer.headers["Content-Type"], page
        loaded |= set(LOADED.findall(answer.text))
    worker = requests.get(f"{served}/app/sw.js", timeout=10)
    assert worker.status_code == 200
    loaded |= set(re.findall(r'"(/(?:vendor|web)/[^"]+)"', worker.text))

    vendored = {path for path in loaded if path.startswith("/vendor/")}
    assert {"/vendor/leaflet/leaflet.js", "/vendor/jsqr/jsQR.js"} <= vendored
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in vendored
    for path in sorted(loaded):
        answer = requests.get(served + path, timeout=10)
        assert answer.status_code == 200 and answer.content, path
    # Leaflet's stylesheet draws markers with images next to it.
    marker = requests.get(f"{served}/vendor/leaflet/images/marker-icon.png", timeout=10)
    assert marker.status_code == 200 and marker.content.startswith(b"\x89PNG")


def test_the_installed_package_publishes_its_contract_and_knows_its_schema(served):
    document = requests.get(f"{served}/api/v1/openapi.json", timeout=10)
    ready = requests.get(f"{served}/readyz", timeout=10).json()

    assert document.status_code == 200 and document.json()["openapi"].startswith("3.1")
    assert ready["checks"]["database"] == "ok" and ready["checks"]["schema"] == "ok"
