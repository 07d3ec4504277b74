"""Unmet demand on PostGIS: searches that found nothing counted by one upsert (which gives
up rather than wait), read back by the nightly rebalancing in the city's morning hours
per hotspot and cell, weighed by the city's setting, and forgotten after the retention."""

import time as clock
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from rental.domain.unmet_demand import cell_of
from rental.services import retention
from rental.services.commands.assets import SearchNearby
from rental.services.unmet_demand import record_unmet_search
from tests.integration.test_rebalancing import (
    ELSEWHERE,
    NOW,
    OFFICE,
    TUESDAY,
    bike_at,
    configure,
    past_mornings,
    set_up_city,
    sites_by_name,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLEET = {
    "depot": {"lon": 121.475, "lat": 31.230},
    "trucks": [{"capacity": 10, "shift_hours": 6}],
    "speed_kph": 25,
    "nightly_hour": 1,
    "time_limit_seconds": 2,
}


@pytest.fixture(autouse=True)
def city(platform):
    set_up_city(platform)


def searched(platform, position, at, times=1):
    for _ in range(times):
        assert record_unmet_search(platform.uow(), SearchNearby(*position, 300, None, 20), at)


def target(sites, name):
    site = sites[name]
    return len(site.bike_ids) - site.surplus


def test_morning_searches_raise_the_targets_by_the_citys_weight(platform):
    piled = bike_at(platform, OFFICE)
    past_mornings(platform, piled, OFFICE, per_morning=4)
    for week in range(1, 5):
        # 07:00 on a Tuesday in Shanghai is 23:00 on the Monday in UTC.
        seven = datetime.combine(TUESDAY - timedelta(weeks=week), time(7), SHANGHAI)
        searched(platform, OFFICE, seven, times=6)
        searched(platform, ELSEWHERE, seven, times=8)
        searched(platform, OFFICE, seven + timedelta(hours=6), times=50)  # 13:00: no morning

    configure(platform, FLEET)
    sites, _ = sites_by_name(platform)
    assert target(sites, "Office") == 5  # 4 starts a morning and the buffer
    assert not any(name.startswith("busy corner") for name in sites)

    configure(platform, {**FLEET, "unmet_demand_weight": 0.5})
    sites, night = sites_by_name(platform)
    assert target(sites, "Office") == 9  # (4 + 0.5 x 6) x 1.2, rounded up
    (corner,) = [name for name in sites if name.startswith("busy corner")]
    assert target(sites, corner) == 5  # 0.5 x 8 a morning, a corner of its own
    assert night.starts  # the forecast's error is still measured on the trips


def test_a_count_gives_up_rather_than_hold_the_search(platform):
    moment = NOW
    searched(platform, ELSEWHERE, moment)
    x, y = cell_of(*ELSEWHERE)
    with platform.engine.begin() as holder:
        holder.execute(
            text("SELECT 1 FROM unmet_searches WHERE cell_x = :x AND cell_y = :y FOR UPDATE"),
            {"x": x, "y": y},
        )
        started = clock.perf_counter()
        search = SearchNearby(*ELSEWHERE, 300, None, 20)
        assert record_unmet_search(platform.uow(), search, moment) is None
        assert clock.perf_counter() - started < 1.0


def test_counts_past_the_retention_are_forgotten(platform):
    searched(platform, ELSEWHERE, NOW - timedelta(days=100), times=2)
    searched(platform, ELSEWHERE, NOW - timedelta(days=10))
    forgotten = retention.forget_old_unmet_searches(platform.uow(), NOW, timedelta(days=90))
    assert forgotten == 1
    with platform.engine.connect() as connection:
        left = connection.execute(text("SELECT searches FROM unmet_searches")).scalars().all()
    assert left == [1]
