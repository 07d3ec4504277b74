"""A big feed is rendered once per ttl for the whole deployment: every process serves the
stored render, which only ever moves forward, and never one older than its ttl."""

import gzip
from datetime import UTC, datetime, timedelta

import pytest

from rental.api.gbfs_feeds import FeedCopies
from rental.services.read_models import StoredFeed
from rental.services.shared_feeds import etag, shared_feed
from rental.services.unit_of_work import UnitOfWork
from tests.unit.fakes import FakeUnitOfWork, Store

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Renders:
    """A render that records when it ran, and can be made to fail."""

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.fail = False

    def __call__(self, uow: UnitOfWork, at: datetime) -> bytes:
        self.times.append(at)
        if self.fail:
            raise RuntimeError("database went away")
        return f"vehicles as of {at.isoformat()}".encode()


@pytest.fixture
def store() -> Store:
    return Store()


def served(store: Store, clock: Clock, renders: Renders, holding: str | None = None):
    return shared_feed(FakeUnitOfWork(store), "c", "feed", TTL, clock, renders, holding)


def test_a_feed_is_rendered_once_per_ttl_for_every_process(store):
    clock, renders = Clock(), Renders()

    first = served(store, clock, renders)
    clock.advance(9.9)
    other_process = served(store, clock, renders)
    holder = served(store, clock, renders, holding=first.etag)

    assert renders.times == [T0]
    assert (other_process.last_updated, other_process.etag) == (T0, first.etag)
    assert other_process.body == first.body == b"vehicles as of 2026-11-23T08:00:00+00:00"
    assert holder.body is None and holder.etag == first.etag  # nothing to fetch again


def test_a_render_as_old_as_its_ttl_is_never_served(store):
    clock, renders = Clock(), Renders()
    first = served(store, clock, renders)
    clock.advance(10)

    again = served(store, clock, renders, holding=first.etag)

    assert renders.times == [T0, T0 + TTL]
    assert again.last_updated == T0 + TTL and again.body is not None
    assert again.etag not in (first.etag, None)


def test_a_newer_render_stored_meanwhile_is_served_instead_of_ours(store):
    """Another render is stored while ours runs (by a writer that did not wait its turn):
    ours is dropped, so what is served never goes back."""
    clock, renders = Clock(), Renders()
    ahead = T0 + timedelta(seconds=3)

    def render_while_another_host_stores(uow: UnitOfWork, at: datetime) -> bytes:
        store.gbfs_feeds[("c", "feed")] = StoredFeed(
            "c", "feed", ahead, etag("c", "feed", ahead), b"theirs"
        )
        return renders(uow, at)

    answer = shared_feed(
        FakeUnitOfWork(store), "c", "feed", TTL, clock, render_while_another_host_stores
    )

    assert (answer.last_updated, answer.body) == (ahead, b"theirs")
    assert renders.times == [T0]  # ours was rendered, and dropped


def test_a_failed_render_stores_nothing_and_the_next_request_renders(store):
    clock, renders = Clock(), Renders()
    served(store, clock, renders)
    clock.advance(11)
    renders.fail = True

    with pytest.raises(RuntimeError):
        served(store, clock, renders)

    assert store.gbfs_feeds[("c", "feed")].last_updated == T0
    renders.fail = False
    assert served(store, clock, renders).last_updated == T0 + timedelta(seconds=11)


def test_a_process_keeps_only_the_newest_render_it_was_given():
    copies = FeedCopies()
    older = StoredFeed("c", "feed", T0, "e0", _gzip("old"))
    newer = StoredFeed("c", "feed", T0 + TTL, "e1", _gzip("new"))

    assert copies.served(newer, 10).text == "new"
    assert copies.served(older, 10).text == "old"  # what that request read, as it read it

    assert copies.etag("c", "feed") == "e1"
    assert copies.served(StoredFeed("c", "feed", T0 + TTL, "e1", None), 10).text == "new"
    assert copies.served(StoredFeed("c", "feed", T0, "e0", None), 10) is None  # ask again


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode())
