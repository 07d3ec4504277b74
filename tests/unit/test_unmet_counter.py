"""Searches that found nothing are counted off the rider's request: handing one over never
waits, a full queue drops rather than blocks, and the process's thread counts them."""

import threading
from datetime import UTC, datetime

from rental.domain.unmet_demand import cell_of, hour_of
from rental.services.commands.assets import SearchNearby
from rental.services.unmet_counter import UnmetSearchCounter
from tests.unit.fakes.unit_of_work import FakeUnitOfWork
from tests.unit.fakes.world import CITY, HOME, World

SEARCH = SearchNearby(*HOME, radius_m=500, kinds=None, limit=20)


def test_the_counters_thread_counts_what_searches_hand_over():
    world = World()
    counter = UnmetSearchCounter(world.uow)
    assert counter.add(SEARCH, world.now) and counter.add(SEARCH, world.now)
    counter.wait_until_counted()
    assert world.store.unmet_searches == {(CITY, hour_of(world.now), *cell_of(*HOME)): 2}


def test_a_search_is_dropped_rather_than_wait_when_counting_does_not_keep_up(caplog):
    world = World()
    stuck = threading.Event()

    def slow_uow() -> FakeUnitOfWork:
        stuck.wait(5)  # a database that does not answer
        return world.uow()

    counter = UnmetSearchCounter(slow_uow, capacity=2)
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    handed = [counter.add(SEARCH, now) for _ in range(5)]
    # One taken by the thread (stuck), two waiting, the rest dropped at once.
    assert handed.count(False) >= 2 and counter.dropped == handed.count(False)
    assert "dropped" in caplog.text
    stuck.set()
    counter.wait_until_counted()
    assert sum(world.store.unmet_searches.values()) == handed.count(True)
