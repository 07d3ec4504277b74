"""Searches that found no vehicle are counted by coarse cell and hour, naming no rider, and
operators read them per city and days against where vehicles stand, in memory."""

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from rental.domain.errors import InvalidInput, NotFound, Unavailable
from rental.domain.fleet import ServicePolicy
from rental.domain.unmet_demand import (
    CELL_DEGREES,
    CellCount,
    DayRange,
    UnmetSearch,
    cell_center,
    cell_of,
    hour_of,
)
from rental.entrypoints.sweeper import Sweeper
from rental.services import retention
from rental.services.commands.assets import SearchNearby
from rental.services.unmet_demand import ReadDemandMap, demand_map, record_unmet_search
from tests.unit.fakes.world import CITY, HOME, METRE_EAST, World

POLICY = ServicePolicy()


@pytest.fixture
def world() -> World:
    return World()


def search_at(lon: float, lat: float) -> SearchNearby:
    return SearchNearby(lon, lat, radius_m=500, kinds=None, limit=20)


def test_a_search_is_kept_as_its_cell_and_hour_only():
    moment = datetime(2026, 3, 2, 8, 41, 17, 5, tzinfo=UTC)
    unmet = UnmetSearch.at(121.4737, 31.2304, moment)
    assert unmet.hour == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert unmet.cell == (97178, 24984)
    lon, lat = cell_center(unmet.cell)
    # The center is within half a cell of the search, and the same for every search there.
    assert abs(lon - 121.4737) <= CELL_DEGREES / 2 and abs(lat - 31.2304) <= CELL_DEGREES / 2
    assert cell_of(lon - CELL_DEGREES / 4, lat + CELL_DEGREES / 4) == unmet.cell
    assert cell_of(lon + CELL_DEGREES * 3 / 4, lat) != unmet.cell
    assert hour_of(datetime(2026, 3, 2, 17, 59, tzinfo=UTC)) == datetime(2026, 3, 2, 17, tzinfo=UTC)


def test_searches_in_one_cell_and_hour_add_up_to_one_count(world):
    assert record_unmet_search(world.uow(), search_at(*HOME), world.now) == CITY
    later = world.now + timedelta(minutes=20)
    near = search_at(HOME[0] - 10 * METRE_EAST, HOME[1])
    assert cell_of(near.lon, near.lat) == cell_of(*HOME)
    record_unmet_search(world.uow(), near, later)
    key = (CITY, hour_of(world.now), *cell_of(*HOME))
    assert world.store.unmet_searches == {key: 2}


def test_a_search_far_from_every_city_is_not_counted(world):
    assert record_unmet_search(world.uow(), search_at(13.4, 52.5), world.now) is None
    assert world.store.unmet_searches == {}


def test_a_count_that_fails_never_fails_the_search(world, caplog):
    uow = world.uow()
    uow.unmet_demand.fails_with = Unavailable("the database cannot be reached")
    with caplog.at_level(logging.WARNING):
        assert record_unmet_search(uow, search_at(*HOME), world.now) is None
    assert "not counted" in caplog.text
    assert world.store.unmet_searches == {}


def test_the_map_sums_the_days_asked_for_and_shows_vehicles_on_the_same_grid(world):
    # NOW is 16:00 on 2 March in Shanghai; 1 March there began at 16:00 UTC on 28 Feb.
    record_unmet_search(world.uow(), search_at(*HOME), world.now)
    record_unmet_search(world.uow(), search_at(*HOME), world.now - timedelta(hours=1))
    record_unmet_search(world.uow(), search_at(*HOME), world.now - timedelta(days=1))
    away = (HOME[0] + 0.01, HOME[1])
    record_unmet_search(world.uow(), search_at(*away), world.now - timedelta(days=3))
    world.bike(metres_east=1000)
    world.bike(metres_east=1001)

    today = demand_map(world.uow(), ReadDemandMap(CITY), world.now, POLICY)
    assert today.days == DayRange(date(2026, 2, 24), date(2026, 3, 2))
    assert today.searches == [CellCount(cell_of(*HOME), 3), CellCount(cell_of(*away), 1)]
    assert today.total_searches == 4
    assert today.vehicles == [CellCount(cell_of(HOME[0] + 1000 * METRE_EAST, HOME[1]), 2)]

    one_day = ReadDemandMap(CITY, date(2026, 3, 2), date(2026, 3, 2))
    assert demand_map(world.uow(), one_day, world.now, POLICY).searches == [
        CellCount(cell_of(*HOME), 2)
    ]


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 3, 2), date(2026, 3, 1)), (date(2025, 3, 2), date(2026, 3, 2))],
)
def test_a_backwards_or_too_long_range_is_refused(world, first, last):
    with pytest.raises(InvalidInput) as refused:
        demand_map(world.uow(), ReadDemandMap(CITY, first, last), world.now, POLICY)
    assert refused.value.code == "invalid_days"


def test_the_map_of_an_unknown_city_is_not_found(world):
    with pytest.raises(NotFound):
        demand_map(world.uow(), ReadDemandMap("nowhere"), world.now, POLICY)


def test_counts_past_their_retention_are_forgotten(world):
    record_unmet_search(world.uow(), search_at(*HOME), world.now - timedelta(days=91))
    record_unmet_search(world.uow(), search_at(*HOME), world.now - timedelta(days=89))
    forgotten = retention.forget_old_unmet_searches(world.uow(), world.now, timedelta(days=90))
    assert forgotten == 1
    assert list(world.store.unmet_searches.values()) == [1]


def test_lockctls_sweeper_forgets_counts_past_their_retention_hourly(world):
    record_unmet_search(world.uow(), search_at(*HOME), world.now - timedelta(days=31))
    record_unmet_search(world.uow(), search_at(*HOME), world.now)
    sweeper = Sweeper(
        world.uow,
        lambda: world.now,
        answer_grace=timedelta(seconds=30),
        wallet_floor_minor=0,
        lock_log_retention=timedelta(days=90),
        unmet_demand_retention=timedelta(days=30),
    )
    sweeper.sweep(2)  # not a retention pass
    assert len(world.store.unmet_searches) == 2
    sweeper.sweep(1)
    assert list(world.store.unmet_searches) == [(CITY, hour_of(world.now), *cell_of(*HOME))]
