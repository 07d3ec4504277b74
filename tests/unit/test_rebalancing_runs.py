"""The rebalancing's runs, schedule and trucks as use cases, in memory: one run at a time per
city, an abandoned run failed, a plan made and stored, great circles when the routing
service fails, plans asked for queued and made by a worker, and a city's nightly run once
a night."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import box, mapping

from rebalancing.distances import DistancesUnavailable, GreatCircle
from rental.domain.cities import City
from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import Asset, AssetKind, Lock, ServicePolicy
from rental.domain.pricing import Tariff
from rental.domain.rebalancing import PlanState, RunTrigger, TruckFleet, TruckSpec
from rental.domain.rentals import Rental, RentalState
from rental.domain.zones import Zone, ZoneKind
from rental.services import (
    rebalancing_fleets,
    rebalancing_plans,
    rebalancing_requests,
    rebalancing_runs,
)
from rental.services.rebalancing_commands import ConfigureFleet, StartRun
from tests.unit.fakes import FakeUnitOfWork, Store, fake_uow_factory

CITY = "shanghai"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 22:00 in Shanghai on Monday 2026-11-23: the trucks work for Tuesday morning.
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
STATION = (121.465, 31.230)
OFFICE = (121.485, 31.230)
FLEET = TruckFleet(
    CITY,
    depot=(121.475, 31.230),
    trucks=(TruckSpec(10, 6.0),),
    speed_kph=25.0,
    nightly_hour=1,
    time_limit_seconds=2,
)
RIDER = uuid.UUID(int=99)
PRICE = Tariff("CNY", unlock_fee_minor=100, rate_per_interval_minor=150, interval_seconds=1800)
# A seeded search that ends after a few solutions: milliseconds on a night this small.
QUICK = {"time_limit_seconds": 5, "seed": 1, "solution_limit": 5}


class NoRoads:
    """A routing service that never answers."""

    def distances(self, routing_url: str) -> GreatCircle:
        raise AssertionError("asked a routing service the fleet does not have")


class Roads:
    """Road distances twice the straight line's, or a service that is down."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.asked: list[str] = []

    def distances(self, routing_url: str) -> "Roads":
        self.asked.append(routing_url)
        return self

    def matrix(self, points):
        if self.down:
            raise DistancesUnavailable(f"{self.asked[-1]}: ConnectionError")
        return [[2 * metres for metres in row] for row in GreatCircle().matrix(points)]


def planner(routing=None) -> rebalancing_runs.Planner:
    return rebalancing_runs.Planner(ServicePolicy(), routing or NoRoads(), workers=1)


@pytest.fixture
def quiet() -> Store:
    """A city with its trucks, a station and an office, and neither bikes nor trips."""
    store = Store(clock=lambda: NOW)
    with FakeUnitOfWork(store) as unit:
        unit.cities.add(City(CITY, "Shanghai", "Asia/Shanghai", "CNY", "en", *STATION))
        unit.zones.replace(CITY, [hotspot("Office", OFFICE), hotspot("Station", STATION)])
        unit.rebalancing.save_fleet(FLEET)
        unit.commit()
    return store


@pytest.fixture
def store(quiet: Store) -> Store:
    """The city's station has 4 bikes and its office wants 3 by morning."""
    with FakeUnitOfWork(quiet) as unit:
        for n in range(1, 5):
            park_bike(unit, n, STATION)
        for week in range(1, 5):  # 2 trips from the office on each of the last 4 Tuesdays
            tuesday = date(2026, 11, 24) - timedelta(weeks=week)
            for _ in range(2):
                ride_from(unit, OFFICE, datetime.combine(tuesday, time(8), SHANGHAI))
        unit.commit()
    return quiet


@pytest.fixture
def uow(store: Store) -> FakeUnitOfWork:
    """One unit of work on the city, for a use case that takes one."""
    return FakeUnitOfWork(store)


@pytest.fixture
def uows(store: Store) -> Callable[[], FakeUnitOfWork]:
    """A unit of work per call, for a use case that opens several (as `Platform.uow`)."""
    return fake_uow_factory(store)


def hotspot(name: str, center: tuple[float, float]) -> Zone:
    """A parking zone around `center` (a square 200 m across): a hotspot of the night."""
    lon, lat = center
    square = box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    return Zone(ZoneKind.PARKING, name, mapping(square))


def park_bike(unit: FakeUnitOfWork, n: int, where: tuple[float, float]) -> None:
    """A bike riders could take at NOW: its lock is online, charged and closed at `where`."""
    lock_id = f"L{n}"
    unit.locks.add(Lock(lock_id, b"k" * 32))
    unit.locks.record_presence(lock_id, True, 1, NOW)
    unit.locks.record_seen(lock_id, NOW, locked=True, battery_pct=90, lon=where[0], lat=where[1])
    unit.assets.add(Asset(uuid.UUID(int=n), f"BK-{n}", AssetKind.BIKE, CITY, lock_id))


def ride_from(unit: FakeUnitOfWork, start: tuple[float, float], at: datetime) -> None:
    """A ride of the first bike that started at `at` from `start`."""
    key = f"ride-{uuid.uuid4().hex}"
    ride = Rental(uuid.uuid4(), RIDER, uuid.UUID(int=1), "L1", PRICE, RentalState.ENDED, at, key)
    ride.started_at, ride.ended_at = at, at + timedelta(minutes=20)
    unit.rentals.add(ride)
    unit.rentals.set_trace(ride.id, f"LINESTRING({start[0]} {start[1]}, {STATION[0]} {STATION[1]})")


def start_run(trigger=RunTrigger.OPERATOR, **options) -> StartRun:
    return StartRun(CITY, trigger, **options)


def test_a_run_opens_a_running_plan_numbered_after_the_last(uow, store):
    first = rebalancing_runs.open_run(uow, start_run(), NOW)
    with uow:
        uow.rebalancing.end_plan(first, PlanState.READY, NOW)
        uow.commit()

    second = rebalancing_runs.open_run(uow, start_run(RunTrigger.NIGHTLY), NOW)

    plan = store.rebalancing_plans[second]
    assert (plan.version, plan.state, plan.trigger) == (2, "running", "nightly")


def test_a_second_run_is_refused_while_one_is_under_way(uow, store):
    rebalancing_runs.open_run(uow, start_run(), NOW)

    with pytest.raises(Conflict) as refused:
        rebalancing_runs.open_run(uow, start_run(), NOW + timedelta(minutes=30))

    assert refused.value.code == "rebalancing_running"
    assert [plan.version for plan in store.rebalancing_plans.values()] == [1]


def test_a_run_started_meanwhile_by_another_process_wins(uow):
    uow.rebalancing.run_started_meanwhile = CITY

    with pytest.raises(Conflict, match="under way"):
        rebalancing_runs.open_run(uow, start_run(), NOW)


def test_a_run_that_outlived_any_search_is_failed_and_blocks_the_city_no_more(uow, store):
    lost = rebalancing_runs.open_run(uow, start_run(RunTrigger.NIGHTLY), NOW)

    later = NOW + timedelta(hours=3)
    rebalancing_runs.open_run(uow, start_run(), later)

    abandoned = store.rebalancing_plans[lost]
    assert (abandoned.state, abandoned.error) == ("failed", "abandoned: its process ended")
    assert abandoned.finished_at == later
    with uow:
        assert uow.rebalancing.plan_under_way(CITY).version == 2


def test_a_city_without_trucks_gets_no_run(uow, store):
    del store.rebalancing_fleets[CITY]

    with pytest.raises(NotFound) as refused:
        rebalancing_runs.open_run(uow, start_run(), NOW)

    assert refused.value.code == "fleet_not_configured" and not store.rebalancing_plans


def test_a_run_makes_and_stores_the_plan(uow, uows):
    plan_id = rebalancing_runs.run(uows, start_run(**QUICK), NOW, planner())

    details = rebalancing_plans.plan_details(uow, plan_id)
    assert details.plan.state == "ready" and details.plan.error is None
    summary = details.plan.summary
    assert summary is not None
    assert summary["morning"] == "2026-11-24" and summary["distances"] == "great circle"
    # The station's 4 bikes against no target, the office's 3 wanted (2 trips plus 20%).
    assert (summary["imbalance_before"], summary["imbalance_after"]) == (7, 0)
    assert summary["solver"]["seed"] == 1 and summary["solver"]["repeatable"]
    assert [(stop.site, stop.bikes) for stop in details.stops] == [("Station", 4), ("Office", -3)]
    assert details.stops[0].metres_from_previous > 0 and details.depot == FLEET.depot


def test_a_fleet_with_a_routing_service_plans_on_its_road_distances(uow, uows, store):
    store.rebalancing_fleets[CITY] = replace(FLEET, routing_url="http://osrm.example")
    roads = Roads()

    plan_id = rebalancing_runs.run(uows, start_run(**QUICK), NOW, planner(roads))

    details = rebalancing_plans.plan_details(uow, plan_id)
    assert details.plan.summary is not None
    assert details.plan.summary["distances"] == "road routing service"
    assert roads.asked == ["http://osrm.example"]
    straight = GreatCircle().matrix([FLEET.depot, STATION])[0][1]
    assert details.stops[0].metres_from_previous == 2 * straight


def test_a_routing_service_that_is_down_leaves_a_plan_on_great_circles(uows, store, caplog):
    store.rebalancing_fleets[CITY] = replace(FLEET, routing_url="http://osrm.example")

    with caplog.at_level(logging.WARNING):
        plan_id = rebalancing_runs.run(uows, start_run(**QUICK), NOW, planner(Roads(down=True)))

    plan = store.rebalancing_plans[plan_id]
    assert plan.state == "ready" and plan.summary["bikes_moved"] == 7
    assert plan.summary["distances"] == (
        "great circle (the routing service failed: http://osrm.example: ConnectionError)"
    )


def test_a_run_that_cannot_plan_is_stored_failed_with_why(uow, uows, store):
    plan_id = rebalancing_runs.open_run(uow, start_run(), NOW)
    del store.rebalancing_fleets[CITY]  # removed while the run was starting

    rebalancing_runs.make_plan(uows, plan_id, start_run(**QUICK), NOW, planner())

    plan = store.rebalancing_plans[plan_id]
    assert (plan.state, plan.error) == ("failed", f"no trucks are set up for {CITY}")
    with uow:
        assert plan.finished_at is not None and not uow.rebalancing.stops(plan_id)


def test_a_plan_asked_for_waits_queued_with_its_search_and_wakes_the_workers(uow, store):
    plan_id = rebalancing_requests.request_run(uow, start_run(**QUICK), NOW)

    plan = store.rebalancing_plans[plan_id]
    assert (plan.state, plan.trigger, plan.started_at) == ("queued", "operator", NOW)
    assert (plan.search.time_limit_seconds, plan.search.seed) == (5, 1)
    assert plan.search.solution_limit == 5
    assert store.notifications == [(rebalancing_runs.PLAN_REQUESTS_CHANNEL, CITY)]
    with pytest.raises(Conflict, match="under way"):  # one per city, queued ones too
        rebalancing_requests.request_run(uow, start_run(), NOW + timedelta(minutes=1))


def test_a_worker_makes_the_queued_plan_as_it_was_asked_for(uow, uows, store):
    plan_id = rebalancing_requests.request_run(uow, start_run(**QUICK), NOW)
    taken_at = NOW + timedelta(seconds=2)

    made = rebalancing_requests.make_queued_plans(uows, lambda: taken_at, planner())

    plan = store.rebalancing_plans[plan_id]
    assert made == 1 and plan.state == "ready" and plan.started_at == taken_at
    assert plan.summary["solver"]["seed"] == 1 and plan.summary["solver"]["repeatable"]
    assert rebalancing_requests.make_queued_plans(uows, lambda: taken_at, planner()) == 0


def test_queued_plans_are_taken_oldest_first_and_each_once(uow, store):
    other = "hangzhou"
    with uow:
        uow.cities.add(other, "Hangzhou", "CNY", "Asia/Shanghai", *STATION)
        uow.rebalancing.save_fleet(replace(FLEET, city_id=other))
        uow.commit()
    later = rebalancing_requests.request_run(uow, StartRun(other, RunTrigger.OPERATOR), NOW)
    first = rebalancing_requests.request_run(uow, start_run(), NOW - timedelta(minutes=1))

    taken = [rebalancing_requests.take_next(uow, NOW) for _ in range(3)]

    assert [t[0] if t else None for t in taken] == [first, later, None]
    assert all(store.rebalancing_plans[t[0]].state == "running" for t in taken if t)


def test_a_plan_no_worker_took_is_failed_and_blocks_the_city_no_more(uow, store):
    waiting = rebalancing_requests.request_run(uow, start_run(), NOW)

    later = NOW + timedelta(hours=3)
    rebalancing_requests.request_run(uow, start_run(), later)

    never = store.rebalancing_plans[waiting]
    assert (never.state, never.error) == ("failed", "abandoned: no planning worker took it")


def test_the_nightly_schedule_runs_a_city_once_at_its_hour(quiet):
    # A quiet night (no bikes, no trips): the unseeded search ends at once.
    uows = fake_uow_factory(quiet)
    one_am = datetime(2026, 11, 23, 17, 10, tzinfo=UTC)  # 01:10 in Shanghai

    assert rebalancing_runs.due_cities(uows(), NOW) == []  # 22:00 there
    [queued] = rebalancing_requests.request_due_cities(uows, one_am)
    assert rebalancing_requests.request_due_cities(uows, one_am) == []  # queued: not due
    rebalancing_requests.make_queued_plans(uows, lambda: one_am, planner())

    nightly = quiet.rebalancing_plans[queued]
    assert (nightly.trigger, nightly.state, nightly.started_at) == ("nightly", "ready", one_am)
    assert rebalancing_runs.due_cities(uows(), one_am + timedelta(minutes=30)) == []
    assert rebalancing_runs.due_cities(uows(), one_am + timedelta(days=1)) == [CITY]


def test_a_city_the_schedule_cannot_run_gets_a_warning(uow, uows, caplog):
    one_am = datetime(2026, 11, 23, 17, 10, tzinfo=UTC)
    rebalancing_requests.request_run(uow, start_run(), one_am)  # an operator's, queued

    with caplog.at_level(logging.WARNING):
        assert rebalancing_requests.request_due_cities(uows, one_am) == []

    assert "no nightly plan yet: a rebalancing run for this city is under way" in caplog.text


def test_trucks_are_set_up_only_for_a_city_that_exists(uow):
    elsewhere = replace(FLEET, city_id="atlantis")

    with pytest.raises(NotFound, match="no city atlantis"):
        rebalancing_fleets.configure(uow, ConfigureFleet(elsewhere))
    with pytest.raises(NotFound) as none:
        rebalancing_fleets.fleet_of(uow, "atlantis")

    assert none.value.code == "fleet_not_configured"
    changed = replace(FLEET, depot_stock=12)
    assert rebalancing_fleets.configure(uow, ConfigureFleet(changed)) == changed
    assert rebalancing_fleets.fleet_of(uow, CITY) == changed


def test_the_latest_plan_of_a_city_without_one_is_not_found(uow):
    with pytest.raises(NotFound, match="no plan for shanghai yet"):
        rebalancing_plans.latest_plan(uow, CITY)
    rebalancing_runs.open_run(uow, start_run(), NOW)

    latest = rebalancing_plans.latest_plan(uow, CITY)

    assert latest.plan.state == "running" and latest.stops == []
