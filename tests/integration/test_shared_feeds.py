"""GBFS vehicle_status is one feed for every worker and host. Two apps on one database,
each with its own platform (pools, copies of renders), stand for two gunicorn workers or
two hosts behind a load balancer: a consumer whose requests go to either never sees
`last_updated` go back nor a rented bike come back, and a render is made once per ttl."""

import gzip
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from rental.app import create_app
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.fleet import ServicePolicy
from rental.services import open_data
from rental.services.commands.rides import RequestUnlock
from rental.services.read_models import StoredFeed
from rental.services.rentals import Unlocking, request_unlock
from rental.services.shared_feeds import etag
from tests.conftest import new_lock_id
from tests.helpers import (
    RecordingLockCommands,
    make_bike,
    make_city,
    make_user,
    rate_limit_settings,
)

CITY = "sharedcity"
TTL = 10
URL = f"/gbfs/v3/{CITY}/vehicle_status.json"
HERE = (121.47, 31.23)


class Clock:
    """The apps' clock: both read the same one, moved by the test."""

    def __init__(self) -> None:
        self.now = utc_now()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def renders() -> list[datetime]:
    """When each render by either app began."""
    return []


@pytest.fixture
def pool_size() -> int:
    return Config.DB_POOL_SIZE


@pytest.fixture
def apps(database_url, platform, clock, renders, monkeypatch, pool_size):
    """Two apps with a 10 s vehicle_status on the test database."""
    make_city(platform, CITY)
    made = []
    for _ in range(2):
        config = Config(
            DATABASE_URL=database_url,
            SECRET_KEY="test-secret",
            LOCK_KEY_ENCRYPTION_KEYS=platform.config.LOCK_KEY_ENCRYPTION_KEYS,
            VEHICLE_STATUS_TTL_SECONDS=TTL,
            VALIDATE_RESPONSES=1,
            DB_POOL_SIZE=pool_size,
            **rate_limit_settings(),
        )
        made.append(Platform(config, clock=clock))
    monkeypatch.setattr(
        open_data, "vehicles_json", _counted(open_data.vehicles_json, renders, clock)
    )
    yield [create_app(platform=p).test_client() for p in made]
    for p in made:
        p.dispose()


def _counted(render, renders, clock):
    def counting(*args, **kwargs):
        renders.append(clock())
        return render(*args, **kwargs)

    return counting


def parked_bike(platform):
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=CITY)
    with platform.uow() as uow:
        uow.locks.record_seen(lock_id, utc_now(), battery_pct=90, lon=HERE[0], lat=HERE[1])
        uow.commit()
    return asset


def rent(platform, asset) -> None:
    """A rider scans it: from now on it is in a rental (unlocking)."""
    rider = make_user(platform, credit_minor=1000)
    request_unlock(
        platform.uow(),
        RecordingLockCommands(),
        RequestUnlock(rider.id, asset.code, uuid.uuid4().hex),
        utc_now(),
        Unlocking(timedelta(seconds=10), ServicePolicy()),
    )


def public_id(platform, asset) -> str:
    with platform.uow() as uow:
        found = uow.connection.exec_driver_sql(
            "SELECT public_id FROM assets WHERE id = %(id)s", {"id": asset.id}
        ).scalar_one()
    return str(found)


def fetch(client, **headers):
    answer = client.get(URL, headers=headers)
    assert answer.status_code == 200, answer.data
    return answer


def listed(answer) -> set[str]:
    document = json.loads(answer.data)
    return {vehicle["vehicle_id"] for vehicle in document["data"]["vehicles"]}


def stamp(answer) -> datetime:
    return datetime.fromisoformat(json.loads(answer.data)["last_updated"])


def test_two_apps_serve_one_render_that_only_moves_forward(platform, apps, clock):
    first_app, second_app = apps
    rented, parked = parked_bike(platform), parked_bike(platform)
    rented_id = public_id(platform, rented)
    first = fetch(first_app)
    assert {rented_id, public_id(platform, parked)} <= listed(first)

    clock.advance(1)
    rent(platform, rented)
    clock.advance(3)
    seen = [fetch(app) for app in (second_app, first_app)]
    # The render of 4 s ago, whoever serves it: the rented bike may still be listed.
    assert {answer.headers["ETag"] for answer in seen} == {first.headers["ETag"]}
    assert [answer.headers["Cache-Control"] for answer in seen] == ["public, max-age=6"] * 2

    clock.advance(6)  # the render is as old as its ttl: never served again
    answers = []
    for step in range(12):
        answers.append(fetch(apps[step % 2]))
        clock.advance(2.5)

    stamps = [stamp(first)] + [stamp(answer) for answer in answers]
    assert stamps == sorted(stamps) and len(set(stamps)) >= 3  # renders went on, forward
    assert all(rented_id not in listed(answer) for answer in answers)
    served_at = [
        parsedate_to_datetime(answer.headers["Last-Modified"]) for answer in [first, *answers]
    ]
    assert served_at == sorted(served_at)


def test_an_expired_feed_asked_for_at_once_everywhere_is_rendered_once(
    platform, apps, clock, renders
):
    parked_bike(platform)
    fetch(apps[0])
    clock.advance(TTL + 1)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: fetch(apps[n % 2]), range(16)))

    assert len(renders) == 2  # the first request's, and one for all sixteen
    assert len({answer.headers["ETag"] for answer in answers}) == 1
    assert {stamp(answer) for answer in answers} == {clock.now.replace(microsecond=0)}


@pytest.mark.parametrize("pool_size", [2])  # at most 4 connections per app
def test_more_requests_at_expiry_than_connections_are_all_answered(
    platform, apps, clock, renders, monkeypatch
):
    """Those waiting for the render each hold a connection: the render needs none more."""
    parked_bike(platform)
    fetch(apps[0])
    clock.advance(TTL + 1)
    render = open_data.vehicles_json

    def slow(*args, **kwargs):  # every request arrives while the render is under way
        time.sleep(1)
        return render(*args, **kwargs)

    monkeypatch.setattr(open_data, "vehicles_json", slow)

    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: fetch(apps[n % 2]), range(16)))

    assert time.monotonic() - began < 10  # no wait for a connection none would give back
    assert len(renders) == 2
    assert len({answer.headers["ETag"] for answer in answers}) == 1


def test_a_consumer_that_accepts_gzip_gets_the_stored_render_as_it_is(platform, apps):
    parked_bike(platform)
    plain = fetch(apps[0])
    packed = fetch(apps[1], **{"Accept-Encoding": "gzip"})

    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == plain.headers["ETag"].rstrip('"') + '-gzip"'
    assert "Accept-Encoding" in packed.headers["Vary"]
    again = apps[0].get(URL, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_a_stored_render_is_never_replaced_by_an_older_one(platform):
    make_city(platform, CITY)
    now = utc_now()

    def render(at: datetime, body: bytes) -> StoredFeed:
        return StoredFeed(CITY, "vehicle_status", at, etag(CITY, "vehicle_status", at), body)

    with platform.uow() as uow:
        assert uow.shared_feeds.store(render(now, b"newer"))
        assert not uow.shared_feeds.store(render(now - timedelta(seconds=1), b"older"))
        uow.commit()
    with platform.uow() as uow:
        stored = uow.shared_feeds.latest(CITY, "vehicle_status", holding=None)
        held = uow.shared_feeds.latest(
            CITY, "vehicle_status", holding=etag(CITY, "vehicle_status", now)
        )
    assert stored is not None and (stored.last_updated, stored.body) == (now, b"newer")
    assert held is not None and held.body is None


def test_a_renderer_waits_for_the_one_rendering_before_it(platform):
    """The turn is the database's: a second transaction waits until the first ends."""
    make_city(platform, CITY)
    order: list[str] = []
    first_has_turn = threading.Event()

    def first() -> None:
        with platform.uow() as uow:
            uow.shared_feeds.take_render_turn(CITY, "vehicle_status")
            first_has_turn.set()
            threading.Event().wait(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_has_turn.wait(5)
    with platform.uow() as uow:
        uow.shared_feeds.take_render_turn(CITY, "vehicle_status")
        order.append("second has its turn")
    thread.join(5)
    assert order == ["first done", "second has its turn"]
