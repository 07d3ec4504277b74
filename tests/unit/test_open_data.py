"""The render cache of big GBFS feeds keeps last_updated and ttl honest."""

from datetime import UTC, datetime, timedelta

from rental.domain.gbfs import feed_of_json
from rental.services.open_data import VehicleStatusCache

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_feed_is_rendered_once_per_ttl_and_its_ttl_counts_down():
    renders = []

    def render(at):
        renders.append(at)
        return feed_of_json('{"vehicles":[]}', at, 10)

    cache = VehicleStatusCache(10)
    first = cache.get("c", T0, lambda: render(T0))
    later = cache.get("c", T0 + timedelta(seconds=4), lambda: render(T0 + timedelta(seconds=4)))
    fresh = cache.get("c", T0 + timedelta(seconds=10), lambda: render(T0 + timedelta(seconds=10)))

    assert renders == [T0, T0 + timedelta(seconds=10)]
    assert (first.ttl, later.ttl, fresh.ttl) == (10, 6, 10)
    assert later.last_updated == T0
    assert later.text.startswith('{"last_updated":"2026-11-23T08:00:00+00:00","ttl":10,')
