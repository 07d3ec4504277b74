"""The demo city comes with weeks of past morning rides, so that its nightly rebalancing
has demand to forecast: targets at its hotspots, and a busy corner outside them; and with a
week of searches that found no bike, for the operators' demand map."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from rental import demo
from rental.bootstrap import utc_now
from rental.domain.fleet import ServicePolicy
from rental.domain.unmet_demand import cell_of
from rental.services import rebalancing_runs
from rental.services.unmet_demand import ReadDemandMap, demand_map
from tests.conftest import new_lock_id
from tests.helpers import make_bike


def test_the_demo_city_has_mornings_to_forecast(platform):
    demo.set_up_city(platform)
    for _ in range(3):
        make_bike(platform, new_lock_id(), city=demo.CITY_ID)

    demo.seed_trip_history(platform, utc_now())
    demo.seed_trip_history(platform, utc_now())  # once only

    _, night = rebalancing_runs.read_night(platform.uow(), demo.CITY_ID, utc_now(), ServicePolicy())
    wanted = {site.name: -site.surplus for site in night.sites if site.surplus < 0}
    assert wanted["Metro line 1 exit 2"] > wanted["Huangpi Road hotspot"] > 0
    assert any(name.startswith("busy corner") for name in wanted)
    with platform.uow() as uow:
        history = uow.connection.exec_driver_sql(
            "SELECT count(*), count(DISTINCT idempotency_key), sum(fare_minor) FROM rentals"
        ).one()
    assert history[0] == history[1] > 6 * 5 * 12 and history[2] == 0


def test_the_demo_city_has_a_week_of_searches_that_found_no_bike(platform):
    demo.set_up_city(platform)
    now = utc_now()
    demo.seed_unmet_demand(platform, now)
    demo.seed_unmet_demand(platform, now)  # once only

    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    week = ReadDemandMap(demo.CITY_ID, today - timedelta(days=7), today)
    found = demand_map(platform.uow(), week, now, ServicePolicy())
    # Seven days back hold five weekdays, each with four morning hours.
    estate, towers = found.searches
    assert (estate.cell, estate.count) == (cell_of(*demo.UNMET_SEARCHES[0][0]), 5 * 5 * 4)
    assert (towers.cell, towers.count) == (cell_of(*demo.UNMET_SEARCHES[1][0]), 2 * 5 * 4)


def test_the_demo_citys_past_rides_are_whole_in_its_mds_feed(platform):
    demo.set_up_city(platform)
    for _ in range(2):
        make_bike(platform, new_lock_id(), city=demo.CITY_ID)
    now = utc_now()
    demo.seed_trip_history(platform, now)

    with platform.uow() as uow:
        history = uow.vehicle_history
        since = now - timedelta(days=8)
        trips = history.trips(demo.CITY_ID, since, now)  # by their end, as MDS pages them
        # A trip that ended in the window may have begun before it (run between 22:00 and
        # 02:00 UTC, the window opens on a Shanghai morning, while rides are under way):
        # its fixes are read from a day earlier.
        fixes = history.telemetry(demo.CITY_ID, since - timedelta(days=1), now)
        kinds = uow.connection.exec_driver_sql(
            "SELECT rental_id, array_agg(kind ORDER BY at) FROM vehicle_events"
            " WHERE city_id = %(c)s GROUP BY rental_id",
            {"c": demo.CITY_ID},
        ).all()
    assert len(trips) > 20
    events = {rental_id: kinds for rental_id, kinds in kinds}
    for trip in trips:
        assert events[trip.id] == ["trip_start", "trip_end"]
        during = [f for f in fixes if f.rental_id == trip.id]
        assert len(during) >= 2, trip.id
        assert min(f.fix.recorded_at for f in during) == trip.started_at
        assert max(f.fix.recorded_at for f in during) == trip.ended_at
