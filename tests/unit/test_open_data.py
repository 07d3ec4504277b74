"""The render cache of big GBFS feeds keeps last_updated and ttl honest, and never makes a
consumer wait for a render it can avoid."""

import threading
from datetime import UTC, datetime, timedelta

from rental.api.gbfs_feeds import RENDER_THREAD, VehicleStatusCache
from rental.api.gbfs_json import feed_of_json

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Renders:
    """A render that records when it ran, and can be held back or made to fail."""

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.release = threading.Event()
        self.release.set()
        self.done = threading.Event()
        self.fail = False

    def __call__(self, at: datetime):
        self.release.wait(5)
        self.times.append(at)
        self.done.set()
        if self.fail:
            raise RuntimeError("database went away")
        return feed_of_json('{"vehicles":[]}', at, 10)

    def wait(self) -> None:
        assert self.done.wait(5), "no render happened"
        self.done.clear()
        for thread in threading.enumerate():
            if thread.name.startswith(RENDER_THREAD):
                thread.join(5)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_feed_is_rendered_once_per_ttl_and_its_ttl_counts_down():
    renders = Renders()
    cache = VehicleStatusCache(10)

    first = cache.get("c", T0, renders)
    later = cache.get("c", at(4), renders)

    assert renders.times == [T0]
    assert (first.ttl, later.ttl, later.last_updated) == (10, 6, T0)
    assert later.text.startswith('{"last_updated":"2026-11-23T08:00:00+00:00","ttl":10,')


def test_after_its_ttl_the_last_render_is_served_while_one_new_render_runs():
    renders = Renders()
    cache = VehicleStatusCache(10)
    cache.get("c", T0, renders)
    renders.wait()
    renders.release.clear()  # the next render takes its time

    served = [cache.get("c", at(10 + n), renders) for n in range(3)]

    assert [(feed.last_updated, feed.ttl) for feed in served] == [(T0, 0)] * 3
    renders.release.set()
    renders.wait()
    assert renders.times == [T0, at(10)]  # one render in the background, not three
    assert cache.get("c", at(14), renders).last_updated == at(10)


def test_a_feed_older_than_five_minutes_is_rendered_before_answering():
    renders = Renders()
    cache = VehicleStatusCache(10)
    cache.get("c", T0, renders)

    answer = cache.get("c", at(301), renders)

    assert answer.last_updated == at(301) and renders.times == [T0, at(301)]


def test_a_ttl_of_zero_renders_every_time():
    renders = Renders()
    cache = VehicleStatusCache(0)

    answers = [cache.get("c", T0, renders), cache.get("c", at(1), renders)]

    assert [feed.last_updated for feed in answers] == [T0, at(1)]


def test_a_failed_background_render_keeps_the_last_feed_and_is_tried_again():
    renders = Renders()
    cache = VehicleStatusCache(10)
    cache.get("c", T0, renders)
    renders.wait()
    renders.fail = True

    assert cache.get("c", at(11), renders).last_updated == T0
    renders.wait()
    renders.fail = False
    assert cache.get("c", at(12), renders).last_updated == T0
    renders.wait()
    assert cache.get("c", at(13), renders).last_updated == at(12)
