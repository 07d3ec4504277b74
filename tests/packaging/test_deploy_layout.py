"""The production layout in deploy/ checked as far as it can be without a server: the
systemd units pass `systemd-analyze verify` and start commands the package installs, the
environment template names every setting with its true default, nginx runs the proxy's
configuration (TLS, /metrics refused, the libraries cached), and Mosquitto runs the
broker's (TLS for locks, loopback for the platform, no anonymous clients).

nginx is Debian's, unpacked into var/tools by `scripts/deploy.sh tools` (make test does
it); the test runs it and Mosquitto on free loopback ports with paths in a temporary
folder, and certificates of a throwaway CA made with openssl.
"""

import configparser
import dataclasses
import getpass
import importlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import requests
from werkzeug.serving import make_server

from rental.app import create_app
from rental.config import Config, parsed_setting

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("rental*"))
INSTALLED = "/opt/rental/venv/bin/"
NGINX = ROOT / "var/tools/nginx/usr/sbin/nginx"
# Settings read outside rental.config (by one process each), and the backup command's.
OTHER_SETTINGS = {
    "LOCKCTL_INSTANCE",
    "LOCKCTL_SHARE_GROUP",
    "LOCKCTL_PERSISTENT_SESSION",
    "PROMETHEUS_MULTIPROC_DIR",
    "BROKER_ACCOUNTS_FILE",
    "BROKER_STOP_COMMAND",
    "BROKER_START_COMMAND",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def console_scripts() -> dict[str, str]:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines)  # type: ignore[misc]


def exec_starts(unit: Path) -> list[list[str]]:
    """Each ExecStart's words (continuation lines joined, quotes removed)."""
    text = unit.read_text().replace("\\\n", " ")
    commands = re.findall(r"^ExecStart=(.+)$", text, flags=re.MULTILINE)
    return [re.findall(r'"[^"]*"|\S+', command) for command in commands]


# --- systemd ------------------------------------------------------------------------------


def test_every_unit_starts_a_command_the_package_installs():
    scripts = console_scripts()
    started = set()
    for unit in UNITS:
        for words in exec_starts(unit):
            program = words[0]
            assert program.startswith(INSTALLED), f"{unit.name}: {program}"
            name = program.removeprefix(INSTALLED)
            started.add(name)
            if name == "gunicorn":  # a dependency's; the app and hooks it loads are ours
                assert '"rental.app:create_app()"' in words
                importlib.import_module("rental.entrypoints.gunicorn_config")
                continue
            module, function = scripts[name].split(":")
            assert callable(getattr(importlib.import_module(module), function)), name
    assert {"gunicorn", "rental", "lockctl", "rental-rebalancing", "rental-backup"} <= started


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "lockctl").exists():
        pytest.fail("the console scripts are not installed: make install")
    for unit in UNITS:  # the commands where this checkout installed them
        text = unit.read_text().replace(INSTALLED, f"{venv_bin}/")
        (tmp_path / unit.name).write_text(text)
    (tmp_path / "rental-lockctl@main.service").symlink_to(tmp_path / "rental-lockctl@.service")
    names = [str(path) for path in sorted(tmp_path.iterdir())]

    done = subprocess.run(
        [analyze, "verify", "--man=no", *names], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


# --- the environment file -----------------------------------------------------------------


def environment_template() -> dict[str, str]:
    """Each setting the template names, set or shown commented out, with its value."""
    named = {}
    for line in (DEPLOY / "rental.env.example").read_text().splitlines():
        found = re.match(r"^#?([A-Z][A-Z0-9_]+)=(.*)$", line)
        if found:
            named[found.group(1)] = found.group(2)
    return named


def test_the_environment_template_names_every_setting_and_no_other():
    named = environment_template()
    settings = {field.name for field in dataclasses.fields(Config)}

    assert settings - named.keys() == set(), "settings the template leaves out"
    assert named.keys() - settings - OTHER_SETTINGS == set(), "names no process reads"


def test_the_environment_template_shows_each_default_as_it_is():
    defaults = Config()
    template = (DEPLOY / "rental.env.example").read_text()
    for name, shown in environment_template().items():
        if f"\n#{name}=" not in template or not hasattr(defaults, name):
            continue  # set to a value of one's own, or read elsewhere
        default = getattr(defaults, name)
        assert parsed_setting(shown, default) == default, name


# --- nginx --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    folder = tmp_path_factory.mktemp("certs")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "2", "-subj", "/CN=rental test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    signed = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "san.ext"]
    openssl("x509", "-req", "-in", "server.csr", *signed, "-out", "server.crt", "-days", "2")
    return folder


@pytest.fixture(scope="module")
def api(platform) -> Iterator[str]:
    """The API behind the proxy, as rental-api.service runs it behind one."""
    settings = {
        "TRUSTED_PROXY_COUNT": 1,
        "RATE_LIMIT_SIGN_UP_PER_ADDRESS": "1/minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    server = make_server("127.0.0.1", 0, create_app(settings, platform=platform), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, certificates, api) -> Iterator[tuple[str, str]]:
    """nginx with deploy/nginx/rental.conf on loopback ports: (https URL, http URL)."""
    if not NGINX.exists():
        pytest.fail("nginx is not unpacked: scripts/deploy.sh tools (make test does it)")
    folder = tmp_path_factory.mktemp("nginx")
    http, https = free_port(), free_port()
    site = (DEPLOY / "nginx" / "rental.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server {api};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("/etc/ssl/rental/fullchain.pem", str(certificates / "server.crt"))
    site = site.replace("/etc/ssl/rental/privkey.pem", str(certificates / "server.key"))
    site = site.replace("/var/cache/nginx/rental", str(folder / "cache"))
    (folder / "rental.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        f"user root;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n"
        f"    include {folder}/rental.conf;\n}}\n"
    )
    command = [str(NGINX), "-p", str(folder), "-e", str(folder / "error.log")]
    command += ["-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"])
    try:
        url = f"https://127.0.0.1:{https}"
        for _ in range(100):
            try:
                requests.get(f"{url}/healthz", verify=certificates / "ca.crt", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url, f"http://127.0.0.1:{http}"
    finally:
        process.terminate()
        process.wait(10)


def test_the_proxy_serves_the_api_over_tls_and_moves_plain_http_there(proxy, certificates):
    https, http = proxy
    ca = certificates / "ca.crt"

    health = requests.get(f"{https}/healthz", verify=ca, timeout=5)
    moved = requests.get(f"{http}/app/", allow_redirects=False, timeout=5)

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert "max-age" in health.headers["Strict-Transport-Security"]
    assert moved.status_code == 301 and moved.headers["Location"].startswith("https://")


def test_the_proxy_refuses_metrics_and_caches_the_libraries(proxy, certificates):
    https, _ = proxy
    ca = certificates / "ca.crt"
    library = f"{https}/vendor/leaflet/leaflet.js"

    metrics = requests.get(f"{https}/metrics", verify=ca, timeout=5)
    first = requests.get(library, verify=ca, timeout=5)
    second = requests.get(library, verify=ca, timeout=5)

    assert metrics.status_code == 403
    assert first.status_code == 200 and second.content == first.content
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")


def test_the_api_counts_the_address_the_proxy_saw_not_the_one_a_client_wrote(proxy, certificates):
    https, _ = proxy

    def sign_up(claimed_address: str) -> int:
        body = {"phone": f"138{random.randrange(10**8):08d}", "password": "a long password"}
        answer = requests.post(
            f"{https}/api/v1/riders",
            json={**body, "name": "Proxy Test"},
            headers={"X-Forwarded-For": claimed_address},
            verify=certificates / "ca.crt",
            timeout=5,
        )
        return answer.status_code

    # One sign-up a minute per address: a client that writes another address in its
    # header is still the address the proxy saw (TRUSTED_PROXY_COUNT=1 believes only that).
    assert sign_up("203.0.113.9") == 400  # code_required (no code texted), and counted
    assert sign_up("198.51.100.7") == 429


# --- Mosquitto ----------------------------------------------------------------------------


def dynsec_plugin() -> str:
    found = sorted(Path("/usr/lib").glob("*/mosquitto_dynamic_security.so"))
    if not found:
        pytest.fail("Mosquitto's dynamic-security plugin is missing: make services")
    return str(found[0])


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory, certificates) -> Iterator[tuple[int, int, str]]:
    """Mosquitto on deploy/mosquitto/production.conf: (TLS port, loopback port, admin's
    password)."""
    folder = tmp_path_factory.mktemp("mosquitto")
    tls, plain = free_port(), free_port()
    password = "admin-" + os.urandom(8).hex()
    accounts = folder / "dynamic-security.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(accounts), "admin", password],
        check=True,
        capture_output=True,
    )
    conf = (DEPLOY / "mosquitto" / "production.conf").read_text()
    conf = conf.replace("listener 8883", f"listener {tls} 127.0.0.1")
    conf = conf.replace("listener 1883 127.0.0.1", f"listener {plain} 127.0.0.1")
    conf = conf.replace("/etc/mosquitto/certs/ca.crt", str(certificates / "ca.crt"))
    conf = conf.replace("/etc/mosquitto/certs/broker.crt", str(certificates / "server.crt"))
    conf = conf.replace("/etc/mosquitto/certs/broker.key", str(certificates / "server.key"))
    conf = conf.replace("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so", dynsec_plugin())
    conf = conf.replace("/var/lib/mosquitto/dynamic-security.json", str(accounts))
    conf = conf.replace("/var/lib/mosquitto/", f"{folder}/")
    conf = conf.replace("/run/mosquitto/mosquitto.pid", str(folder / "mosquitto.pid"))
    conf = conf.replace("log_dest syslog", f"log_dest file {folder}/mosquitto.log")
    conf = conf.replace("user mosquitto", f"user {getpass.getuser()}")
    (folder / "mosquitto.conf").write_text(conf)
    process = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(folder / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", plain), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (folder / "mosquitto.log").read_text()
                time.sleep(0.1)
        yield tls, plain, password
    finally:
        process.terminate()
        process.wait(10)


def connect(port: int, password: str, ca: Path | None = None) -> str:
    """The broker's answer to a connection as admin: "Success", a refusal, or the error."""
    answered = threading.Event()
    outcome = ["no answer"]
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.username_pw_set("admin", password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca))

    def on_connect(_client, _data, _flags, reason, _properties):
        outcome[0] = str(reason)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect("127.0.0.1", port, keepalive=10)
    except OSError as error:
        return f"error: {error}"
    client.loop_start()
    answered.wait(5)
    client.disconnect()
    client.loop_stop()
    return outcome[0]


def test_the_broker_takes_locks_over_tls_and_the_platform_on_loopback(mosquitto, certificates):
    tls, plain, password = mosquitto
    ca = certificates / "ca.crt"

    assert connect(tls, password, ca) == "Success"
    assert connect(plain, password) == "Success"
    assert connect(tls, password) != "Success"  # no TLS on the TLS listener
    assert connect(tls, "not the password", ca) != "Success"
