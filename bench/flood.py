"""A telemetry flood: many locks publishing QoS 0 fixes at a set total rate, each over its
own MQTT v5 connection and broker account, as a city's locks do.

paho-mqtt spends some 30 µs of Python on every message it sends, so a few paho clients
could not offer 20,000 fixes a second on a 2-core machine without becoming the
bottleneck themselves. A QoS 0 PUBLISH is a few bytes of framing around the payload and
asks for no answer: the publishers here frame them by hand on plain sockets (MQTT 5.0,
§3.1 CONNECT, §3.2 CONNACK, §3.3 PUBLISH) and run in several processes, so what is
measured is the broker, lockctl and PostgreSQL behind them. Each publisher reports what it
really sent: the benchmark compares the rate offered with the rate achieved.
"""

import math
import multiprocessing
import multiprocessing.synchronize
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rental.adapters.locks.protocol import TOPIC_ROOT

KEEPALIVE_SECONDS = 60
# How often a publisher wakes to send what is due: short enough to spread the load evenly,
# long enough that the wake-ups themselves cost little.
TICK_SECONDS = 0.005
# Where the fleet rides (Shanghai, as the demo city): a fix moves a few metres each time.
START_LON, START_LAT = 121.47, 31.23
STEP_DEGREES = 0.00005


@dataclass(frozen=True)
class FloodLock:
    lock_id: str
    password: str


@dataclass(frozen=True)
class FloodPlan:
    """What one publisher sends: `rate` fixes/s in total over its locks, for `seconds`,
    each lock numbering its fixes from `first_seq` on under `boot`. A share of fixes is
    sent twice (`repeat_share`, as QoS 0 over a shaky link may deliver), a share carries
    an unusable field (`bad_share`: a latitude out of range, a NaN longitude or a string
    battery, in turn). `riding` locks report their latch open, as a city's moving bikes
    do; the others report it closed."""

    locks: tuple[FloodLock, ...]
    rate: float
    seconds: float
    boot: int
    first_seq: int
    repeat_share: float = 0.0
    bad_share: float = 0.0
    seed: int = 0
    riding: bool = False


@dataclass
class FloodResult:
    """What one publisher really did (`time.time()` seconds)."""

    sent: int = 0  # PUBLISH packets written, repeats included
    unique: int = 0  # distinct (lock, boot, seq) among them
    repeats: int = 0
    bad: int = 0  # fixes with an unusable field
    without_position: int = 0  # ... of which their position (no row in lock_positions)
    began: float = 0.0
    ended: float = 0.0
    cpu: float = 0.0  # CPU seconds the publisher used while sending
    last_seq: dict[str, int] = field(default_factory=dict)


def _varint(number: int) -> bytes:
    """MQTT's variable byte integer (§1.5.5)."""
    out = bytearray()
    while True:
        digit, number = number % 128, number // 128
        out.append(digit | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    # Protocol name, level 5, flags: user name, password, clean start; keepalive; no
    # properties.
    variable = _utf8("MQTT") + bytes([5, 0xC2]) + struct.pack("!H", KEEPALIVE_SECONDS) + b"\0"
    payload = _utf8(client_id) + _utf8(username) + _utf8(password)
    body = variable + payload
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes) -> bytes:
    """QoS 0, no retain, no properties: fixed header, topic, property length 0, payload."""
    body_length = 2 + len(topic) + 1 + len(payload)
    return b"\x30" + _varint(body_length) + struct.pack("!H", len(topic)) + topic + b"\0" + payload


def open_connection(host: str, port: int, lock: FloodLock) -> socket.socket:
    """A connected lock: raises ConnectionError when the broker refuses it."""
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(lock.lock_id, lock.lock_id, lock.password))
    header = sock.recv(2)
    if len(header) < 2 or header[0] != 0x20:
        raise ConnectionError(f"{lock.lock_id}: no CONNACK ({header!r})")
    rest = b""
    while len(rest) < header[1]:
        chunk = sock.recv(header[1] - len(rest))
        if not chunk:
            raise ConnectionError(f"{lock.lock_id}: connection closed during CONNACK")
        rest += chunk
    if rest[1] != 0:
        raise ConnectionError(f"{lock.lock_id}: CONNACK reason code {rest[1]:#04x}")
    sock.setblocking(True)
    return sock


def fix_payload(
    boot: int, seq: int, ts_ms: int, lon: float, lat: float, bad: int, locked: bool = True
) -> bytes:
    """A telemetry report (docs/lock-protocol.md §6); `bad` 1-3 spoils one field. The
    latch is open only for bikes in a rental (`riding`): an open latch without one would
    raise an alert per bike."""
    lon_text, lat_text, battery = f"{lon:.6f}", f"{lat:.6f}", "80"
    if bad == 1:
        lat_text = "91.5"
    elif bad == 2:
        lon_text = "NaN"
    elif bad == 3:
        battery = '"full"'
    return (
        f'{{"v":1,"boot":{boot},"seq":{seq},"ts":{ts_ms},"lon":{lon_text},"lat":{lat_text},'
        f'"locked":{"true" if locked else "false"},"battery_pct":{battery},"accuracy_m":6.0}}'
    ).encode()


def publish(
    host: str, port: int, plan: FloodPlan, ready: Callable[[], object] = lambda: None
) -> FloodResult:
    """Connect the plan's locks, wait for `ready()` to return (every publisher connected),
    then send the plan's fixes paced to its rate; returns what was sent."""
    rng = random.Random(plan.seed)
    sockets = [open_connection(host, port, lock) for lock in plan.locks]
    ready()
    topics = [f"{TOPIC_ROOT}/{lock.lock_id}/telemetry".encode() for lock in plan.locks]
    seqs = [plan.first_seq - 1] * len(plan.locks)
    places = [
        [START_LON + rng.uniform(-0.05, 0.05), START_LAT + rng.uniform(-0.05, 0.05)]
        for _ in plan.locks
    ]
    result = FloodResult()
    total = math.floor(plan.rate * plan.seconds)
    turn = 0
    result.began = time.time()
    cpu_at_start = time.process_time()
    while result.unique < total:
        due = min(total, math.floor((time.time() - result.began) * plan.rate)) - result.unique
        if due <= 0:
            time.sleep(TICK_SECONDS)
            continue
        now_ms = int(time.time() * 1000)
        batches: dict[int, list[bytes]] = {}
        for _ in range(due):
            index = turn % len(plan.locks)
            turn += 1
            seqs[index] += 1
            place = places[index]
            place[0] += rng.uniform(-STEP_DEGREES, STEP_DEGREES)
            place[1] += rng.uniform(-STEP_DEGREES, STEP_DEGREES)
            bad = 0
            if plan.bad_share and rng.random() < plan.bad_share:
                bad = 1 + result.bad % 3
                result.bad += 1
                result.without_position += bad in (1, 2)
            packet = publish_packet(
                topics[index],
                fix_payload(
                    plan.boot, seqs[index], now_ms, place[0], place[1], bad, not plan.riding
                ),
            )
            copies = 1
            if plan.repeat_share and rng.random() < plan.repeat_share:
                copies = 2
                result.repeats += 1
            batches.setdefault(index, []).extend([packet] * copies)
            result.unique += 1
            result.sent += copies
        for index, packets in batches.items():
            sockets[index].sendall(b"".join(packets))
    result.ended = time.time()
    result.cpu = time.process_time() - cpu_at_start
    result.last_seq = {
        lock.lock_id: seq
        for lock, seq in zip(plan.locks, seqs, strict=True)
        if seq >= plan.first_seq
    }
    for sock in sockets:
        sock.sendall(b"\xe0\x00")  # DISCONNECT, normal
        sock.close()
    return result


def _publish_in_child(
    host: str,
    port: int,
    plan: FloodPlan,
    start: "multiprocessing.synchronize.Barrier",
    results: "multiprocessing.Queue[FloodResult]",
) -> None:
    results.put(publish(host, port, plan, start.wait))


def flood(
    host: str,
    port: int,
    locks: list[FloodLock],
    *,
    rate: float,
    seconds: float,
    boot: int,
    first_seq: int,
    processes: int,
    repeat_share: float = 0.0,
    bad_share: float = 0.0,
    riding: bool = False,
) -> list[FloodResult]:
    """Split `locks` over `processes` publishers that start together once all are
    connected and send `rate` fixes/s between them; blocks until all are done."""
    plans = [
        FloodPlan(
            tuple(locks[n::processes]),
            rate / processes,
            seconds,
            boot,
            first_seq,
            repeat_share,
            bad_share,
            seed=n,
            riding=riding,
        )
        for n in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results: multiprocessing.Queue[FloodResult] = context.Queue()
    publishers = [
        context.Process(target=_publish_in_child, args=(host, port, plan, start, results))
        for plan in plans
    ]
    for publisher in publishers:
        publisher.start()
    collected = [results.get() for _ in publishers]
    for publisher in publishers:
        publisher.join()
    return collected
