"""A city's unmet-demand weight: morning searches that found no vehicle raise the targets
of the hotspots (and cells) they were made in, and change nothing at weight 0."""

from datetime import UTC, date, datetime, timedelta

from rebalancing import demand
from rebalancing.state import (
    CELL_DEGREES,
    Hotspot,
    UnmetDemand,
    cell_of,
    city_night,
)
from rental.domain.fleet import ServicePolicy
from rental.domain.rebalancing import TruckFleet, TruckSpec
from rental.domain.unmet_demand import cell_of as search_cell
from rental.domain.zones import Zone, ZoneKind
from rental.services.rebalancing_runs import read_night
from tests.unit.fakes.world import CITY, HOME, SERVICE_AREA, World, square

MORNING = date(2026, 3, 3)  # a Tuesday
FIRST_DAY = MORNING - timedelta(weeks=8)
TUESDAYS = [MORNING - timedelta(weeks=week) for week in range(1, 5)]
STATION = Hotspot("zone-1", "station", (121.47, 31.23))


def every_tuesday(count: int) -> dict[date, int]:
    return dict.fromkeys(TUESDAYS, count)


def target_of(night, name: str) -> int:
    site = next(site for site in night.sites if site.name == name)
    return len(site.bike_ids) - site.surplus


def station_target(unmet: UnmetDemand) -> int:
    starts = {STATION.key: every_tuesday(5)}
    night = city_night([STATION], starts, {}, [], MORNING, FIRST_DAY, unmet)
    return target_of(night, "station")


def test_unmet_searches_add_their_weight_to_the_starts_before_the_target():
    assert station_target(UnmetDemand()) == 6  # 5 starts and the 20% buffer
    searches = {STATION.key: every_tuesday(10)}
    assert station_target(UnmetDemand(0.5, by_zone=searches)) == 12  # (5 + 0.5 x 10) x 1.2
    assert station_target(UnmetDemand(1.0, by_zone=searches)) == 18


def test_at_weight_0_unmet_searches_change_no_target():
    searches = {STATION.key: every_tuesday(50)}
    assert station_target(UnmetDemand(0.0, by_zone=searches)) == station_target(UnmetDemand())


def test_a_cell_where_riders_found_nothing_becomes_a_busy_corner_by_its_weight():
    cell = cell_of((121.5, 31.2))
    searches = {cell: every_tuesday(4)}
    off = city_night([], {}, {}, [], MORNING, FIRST_DAY, UnmetDemand(0.0, by_cell=searches))
    assert off.sites == []
    on = city_night([], {}, {}, [], MORNING, FIRST_DAY, UnmetDemand(1.0, by_cell=searches))
    assert target_of(on, f"busy corner {cell[0]}:{cell[1]}") == 5  # ceil(4 x 1.2)


def test_the_forecast_error_is_measured_on_the_trips_alone():
    starts = {STATION.key: every_tuesday(5)}
    unmet = UnmetDemand(1.0, by_zone={STATION.key: every_tuesday(10)})
    night = city_night([STATION], starts, {}, [], MORNING, FIRST_DAY, unmet)
    assert night.starts == {STATION.key: every_tuesday(5)}
    assert demand.with_unmet(every_tuesday(1), {}, 2.0) == every_tuesday(1)


def test_the_search_grid_nests_in_the_rebalancing_grid():
    for lon, lat in [(121.4737, 31.2304), (-0.1276, 51.5072), (13.4049, 52.52)]:
        x, y = search_cell(lon, lat)
        assert cell_of((lon, lat)) == (x // 2, y // 2)
    assert CELL_DEGREES == 0.0025


def test_a_run_reads_the_morning_searches_in_a_hotspot_by_the_fleets_weight():
    world = World()  # 16:00 on Monday 2 March in Shanghai: the coming morning is Tuesday's
    station = (HOME[0] + 0.01, HOME[1])
    with world.uow() as unit:
        unit.zones.replace(
            CITY, [SERVICE_AREA, Zone(ZoneKind.PARKING, "station", square(station, 0.002))]
        )
        unit.commit()
    bike = world.bike()
    world.rider_who_rode(bike, minutes_ago=60 * 24 * 40)  # the city's trips began long ago
    for tuesday in TUESDAYS:  # 08:00 in Shanghai, and 13:00: not a morning hour
        for hour in (0, 5):
            at = datetime(tuesday.year, tuesday.month, tuesday.day, hour, tzinfo=UTC)
            world.store.unmet_searches[(CITY, at, *search_cell(*station))] = 10

    def target(weight: float) -> int:
        fleet = TruckFleet(CITY, HOME, (TruckSpec(10, 6),), 20, 1, 5, unmet_demand_weight=weight)
        with world.uow() as unit:
            unit.rebalancing.save_fleet(fleet)
            unit.commit()
        _, night = read_night(world.uow(), CITY, world.now, ServicePolicy())
        return target_of(night, "station")

    assert target(0.0) == 0
    assert target(0.5) == 6  # 0.5 x 10 searches a morning, and the buffer
