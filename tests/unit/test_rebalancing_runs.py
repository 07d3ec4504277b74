"""The rebalancing's runs, schedule and trucks as use cases, in memory: one run at a time per
city, an abandoned run failed, a plan made and stored, great circles when the routing
service fails, and a city's nightly run once a night."""

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from rebalancing.distances import DistancesUnavailable, GreatCircle
from rebalancing.state import Hotspot, ParkedBike
from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import ServicePolicy
from rental.domain.rebalancing import PlanState, RunTrigger, TruckFleet, TruckSpec
from rental.services import rebalancing_fleets, rebalancing_plans, rebalancing_runs
from rental.services.rebalancing_commands import ConfigureFleet, StartRun
from tests.unit.rebalancing_fakes import FakeUnitOfWork

CITY = "shanghai"
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
def uow() -> FakeUnitOfWork:
    """A city whose station has 4 bikes and whose office wants 3 by morning."""
    uow = FakeUnitOfWork()
    city = uow.rebalancing
    city.timezones[CITY] = "Asia/Shanghai"
    city.fleets_by_city[CITY] = FLEET
    city.zones[CITY] = [Hotspot("office", "Office", OFFICE), Hotspot("station", "Station", STATION)]
    city.bikes[CITY] = [
        ParkedBike(f"00000000-0000-0000-0000-00000000000{n}", STATION, "station", 90)
        for n in range(1, 5)
    ]
    tuesdays = [date(2026, 11, 24) - timedelta(weeks=week) for week in range(1, 5)]
    city.starts_by_zone[CITY] = {"office": dict.fromkeys(tuesdays, 2)}
    return uow


def start_run(trigger=RunTrigger.OPERATOR, **options) -> StartRun:
    return StartRun(CITY, trigger, **options)


def test_a_run_opens_a_running_plan_numbered_after_the_last(uow):
    first = rebalancing_runs.open_run(uow, start_run(), NOW)
    uow.rebalancing.end_plan(first, PlanState.READY, NOW)

    second = rebalancing_runs.open_run(uow, start_run(RunTrigger.NIGHTLY), NOW)

    plan = uow.rebalancing.plan(second)
    assert (plan.version, plan.state, plan.trigger) == (2, "running", "nightly")


def test_a_second_run_is_refused_while_one_is_under_way(uow):
    rebalancing_runs.open_run(uow, start_run(), NOW)

    with pytest.raises(Conflict) as refused:
        rebalancing_runs.open_run(uow, start_run(), NOW + timedelta(minutes=30))

    assert refused.value.code == "rebalancing_running"
    assert [plan.version for plan in uow.rebalancing.plans.values()] == [1]


def test_a_run_started_meanwhile_by_another_process_wins(uow):
    uow.rebalancing.run_started_meanwhile = CITY

    with pytest.raises(Conflict, match="under way"):
        rebalancing_runs.open_run(uow, start_run(), NOW)


def test_a_run_that_outlived_any_search_is_failed_and_blocks_the_city_no_more(uow):
    lost = rebalancing_runs.open_run(uow, start_run(RunTrigger.NIGHTLY), NOW)

    later = NOW + timedelta(hours=3)
    rebalancing_runs.open_run(uow, start_run(), later)

    abandoned = uow.rebalancing.plan(lost)
    assert (abandoned.state, abandoned.error) == ("failed", "abandoned: its process ended")
    assert abandoned.finished_at == later
    assert uow.rebalancing.running_plan(CITY).version == 2


def test_a_city_without_trucks_gets_no_run(uow):
    del uow.rebalancing.fleets_by_city[CITY]

    with pytest.raises(NotFound) as refused:
        rebalancing_runs.open_run(uow, start_run(), NOW)

    assert refused.value.code == "fleet_not_configured" and not uow.rebalancing.plans


def test_a_run_makes_and_stores_the_plan(uow):
    plan_id = rebalancing_runs.run(uow, start_run(**QUICK), NOW, planner())

    details = rebalancing_plans.plan_details(uow, plan_id)
    assert details.plan.state == "ready" and details.plan.error is None
    summary = details.plan.summary
    assert summary["morning"] == "2026-11-24" and summary["distances"] == "great circle"
    # The station's 4 bikes against no target, the office's 3 wanted (2 trips plus 20%).
    assert (summary["imbalance_before"], summary["imbalance_after"]) == (7, 0)
    assert summary["solver"]["seed"] == 1 and summary["solver"]["repeatable"]
    assert [(stop.site, stop.bikes) for stop in details.stops] == [("Station", 4), ("Office", -3)]
    assert details.stops[0].metres_from_previous > 0 and details.depot == FLEET.depot


def test_a_fleet_with_a_routing_service_plans_on_its_road_distances(uow):
    uow.rebalancing.fleets_by_city[CITY] = replace(FLEET, routing_url="http://osrm.example")
    roads = Roads()

    plan_id = rebalancing_runs.run(uow, start_run(**QUICK), NOW, planner(roads))

    details = rebalancing_plans.plan_details(uow, plan_id)
    assert details.plan.summary["distances"] == "road routing service"
    assert roads.asked == ["http://osrm.example"]
    straight = GreatCircle().matrix([FLEET.depot, STATION])[0][1]
    assert details.stops[0].metres_from_previous == 2 * straight


def test_a_routing_service_that_is_down_leaves_a_plan_on_great_circles(uow, caplog):
    uow.rebalancing.fleets_by_city[CITY] = replace(FLEET, routing_url="http://osrm.example")

    with caplog.at_level(logging.WARNING):
        plan_id = rebalancing_runs.run(uow, start_run(**QUICK), NOW, planner(Roads(down=True)))

    plan = uow.rebalancing.plan(plan_id)
    assert plan.state == "ready" and plan.summary["bikes_moved"] == 7
    assert plan.summary["distances"] == (
        "great circle (the routing service failed: http://osrm.example: ConnectionError)"
    )


def test_a_run_that_cannot_plan_is_stored_failed_with_why(uow):
    plan_id = rebalancing_runs.open_run(uow, start_run(), NOW)
    del uow.rebalancing.fleets_by_city[CITY]  # removed while the run was starting

    rebalancing_runs.make_plan(uow, plan_id, start_run(**QUICK), NOW, planner())

    plan = uow.rebalancing.plan(plan_id)
    assert (plan.state, plan.error) == ("failed", f"no trucks are set up for {CITY}")
    assert plan.finished_at is not None and not uow.rebalancing.stops(plan_id)


def test_the_nightly_schedule_runs_a_city_once_at_its_hour(uow):
    one_am = datetime(2026, 11, 23, 17, 10, tzinfo=UTC)  # 01:10 in Shanghai
    clock = iter([one_am, one_am])
    uow.rebalancing.bikes[CITY] = []  # a quiet night: the unseeded search ends at once
    uow.rebalancing.starts_by_zone[CITY] = {}

    assert rebalancing_runs.due_cities(uow, NOW) == []  # 22:00 there
    rebalancing_runs.run_due_cities(uow, lambda: next(clock), planner())

    [nightly] = uow.rebalancing.plans.values()
    assert (nightly.trigger, nightly.state, nightly.started_at) == ("nightly", "ready", one_am)
    assert rebalancing_runs.due_cities(uow, one_am + timedelta(minutes=30)) == []
    assert rebalancing_runs.due_cities(uow, one_am + timedelta(days=1)) == [CITY]


def test_a_city_the_schedule_cannot_run_gets_a_warning(uow, caplog):
    one_am = datetime(2026, 11, 23, 17, 10, tzinfo=UTC)
    rebalancing_runs.open_run(uow, start_run(), one_am)  # an operator's run, under way

    with caplog.at_level(logging.WARNING):
        rebalancing_runs.run_due_cities(uow, lambda: one_am, planner())

    assert "no nightly plan: a rebalancing run for this city is under way" in caplog.text


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
