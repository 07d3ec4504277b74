"""The nightly rebalancing on PostGIS: the city's imbalance, the morning targets from trip
history, a plan made and stored, a second run refused, and drivers' stops moving bikes."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from rental.adapters.routing import OsrmRouting
from rental.adapters.tables import rebalancing_plans, rentals
from rental.api.rebalancing import FleetRequest
from rental.api.rebalancing_views import fleet_view
from rental.bootstrap import utc_now
from rental.domain.errors import Conflict
from rental.domain.fleet import ServicePolicy
from rental.domain.landmarks import Landmark
from rental.domain.rebalancing import RunTrigger
from rental.domain.zones import zones_from_geojson
from rental.services import (
    maintenance,
    rebalancing_execution,
    rebalancing_fleets,
    rebalancing_runs,
    reservations,
    zones,
)
from rental.services.commands.city import ImportZones
from rental.services.commands.maintenance import UpdateAsset
from rental.services.commands.rides import Reserve
from rental.services.rebalancing_commands import ConfigureFleet, MarkStopDone, StartRun
from rental.services.rebalancing_plans import plan_details
from tests.conftest import new_lock_id
from tests.helpers import make_bike, make_city, make_user
from tests.osrm_peer import osrm_peer, road_metres

CITY = "rebalcity"
POLICY = ServicePolicy()
PLANNER = rebalancing_runs.Planner(POLICY, OsrmRouting(), workers=1)
# 2026-11-23 is a Monday; 22:00 in Shanghai: the trucks work for Tuesday morning.
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
TUESDAY = date(2026, 11, 24)
OFFICE = (121.485, 31.230)  # where Tuesday mornings start: a deficit
STATION = (121.465, 31.230)  # where bikes piled up in the evening: a surplus
ELSEWHERE = (121.475, 31.250)  # outside every hotspot


def square(center, name, half=0.001):
    lon, lat = center
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"kind": "parking", "name": name},
    }


@pytest.fixture(autouse=True)
def city(platform):
    set_up_city(platform)


def set_up_city(platform):
    """Two parking hotspots, Office and Station, and two trucks of 10."""
    make_city(platform, CITY)
    document = {
        "type": "FeatureCollection",
        "features": [square(OFFICE, "Office"), square(STATION, "Station")],
    }
    zones.import_zones(platform.uow(), ImportZones(CITY, zones_from_geojson(document)))
    fleet = {
        "depot": {"lon": 121.475, "lat": 31.230},
        "trucks": [{"capacity": 10, "shift_hours": 6}, {"capacity": 10, "shift_hours": 6}],
        "speed_kph": 25,
        "nightly_hour": 1,
        "time_limit_seconds": 2,
    }
    configure(platform, fleet)


def configure(platform, body):
    """The trucks as an operator sends them (`PUT .../fleets/{city}`)."""
    fleet = FleetRequest.model_validate(body).fleet(CITY)
    rebalancing_fleets.configure(platform.uow(), ConfigureFleet(fleet))


def run(platform, trigger, now=NOW):
    """A run with a search of 1 s, waited for."""
    return rebalancing_runs.run(platform.uow, StartRun(CITY, trigger, 1), now, PLANNER)


def bike_at(platform, position, battery=90):
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=CITY)
    with platform.uow() as uow:
        uow.locks.record_seen(lock_id, NOW, battery_pct=battery, lon=position[0], lat=position[1])
        uow.commit()
    return asset


def past_mornings(platform, asset, start, per_morning, morning=TUESDAY, weeks=4):
    """Trips that started at `start` at 07:30 Shanghai time on the same weekday as
    `morning` in the weeks before it."""
    rider = make_user(platform)
    half_past_seven = datetime.combine(morning, time(7, 30), ZoneInfo("Asia/Shanghai"))
    with platform.uow() as uow:
        for week in range(1, weeks + 1):
            for n in range(per_morning):
                began = half_past_seven - timedelta(weeks=week) + timedelta(minutes=n)
                uow.connection.execute(
                    insert(rentals).values(
                        id=uuid.uuid4(),
                        rider_id=rider.id,
                        asset_id=asset.id,
                        lock_id=asset.lock_id,
                        idempotency_key=uuid.uuid4().hex,
                        state="ended",
                        tariff={"currency": "CNY"},
                        requested_at=began,
                        started_at=began,
                        ended_at=began + timedelta(minutes=10),
                        trace=f"SRID=4326;LINESTRING({start[0]} {start[1]}, 121.47 31.24)",
                    )
                )
        uow.commit()


def sites_by_name(platform):
    _, night = rebalancing_runs.read_night(platform.uow(), CITY, NOW, POLICY)
    return {site.name: site for site in night.sites}, night


def test_the_imbalance_counts_available_bikes_against_the_morning_targets(platform):
    piled = [bike_at(platform, STATION) for _ in range(7)]
    stray = [bike_at(platform, ELSEWHERE) for _ in range(2)]
    past_mornings(platform, piled[0], OFFICE, per_morning=4)
    reservations.reserve(
        platform.uow(),
        Reserve(make_user(platform, credit_minor=1000).id, piled[1].code, uuid.uuid4().hex),
        NOW,
        timedelta(minutes=15),
        POLICY,
    )
    maintenance.update_asset(platform.uow(), UpdateAsset(piled[2].code, in_service=False), NOW)
    bike_at(platform, STATION, battery=5)  # flat: riders cannot have it, trucks leave it

    sites, night = sites_by_name(platform)

    assert night.morning.isoformat() == "2026-11-24"
    assert sites["Office"].surplus == -5  # 4 trips on each past Tuesday, plus 20%
    assert sites["Station"].surplus == 5  # 7 bikes, one on hold, one out of service
    assert set(sites["Station"].bike_ids) == {str(b.id) for b in piled[:1] + piled[3:]}
    [outside] = [site for name, site in sites.items() if name.startswith("outside")]
    assert (outside.surplus, set(outside.bike_ids)) == (2, {str(b.id) for b in stray})


def test_a_corner_where_many_mornings_start_becomes_a_hotspot(platform):
    corner = (121.4612, 31.2212)
    bike = bike_at(platform, STATION)
    past_mornings(platform, bike, corner, per_morning=5)

    sites, _ = sites_by_name(platform)

    [busy] = [site for name, site in sites.items() if name.startswith("busy corner")]
    assert busy.surplus == -6  # no bike there yet, and 5 trips a morning plus 20%


def test_a_plan_is_made_stored_and_a_second_run_is_refused_meanwhile(platform):
    for _ in range(6):
        bike_at(platform, STATION)
    helper = bike_at(platform, STATION)
    past_mornings(platform, helper, OFFICE, per_morning=5)

    rebalancing_runs.open_run(platform.uow(), StartRun(CITY, RunTrigger.OPERATOR), NOW)
    with pytest.raises(Conflict):
        rebalancing_runs.run(platform.uow, StartRun(CITY, RunTrigger.OPERATOR, 1), NOW, PLANNER)
    with platform.uow() as uow:
        uow.connection.execute(rebalancing_plans.update().values(state="failed"))
        uow.commit()

    plan_id = run(platform, RunTrigger.OPERATOR)

    with platform.uow() as uow:
        plan = uow.rebalancing.plan(plan_id)
        stops = uow.rebalancing.stops(plan_id)
    assert (plan.state, plan.version) == ("ready", 2)
    # a run whose process died does not block the city
    rebalancing_runs.open_run(platform.uow(), StartRun(CITY, RunTrigger.NIGHTLY), NOW)
    later = NOW + timedelta(hours=3)
    rebalancing_runs.open_run(platform.uow(), StartRun(CITY, RunTrigger.OPERATOR), later)
    with platform.uow() as uow:
        states = uow.connection.execute(
            select(rebalancing_plans.c.trigger, rebalancing_plans.c.state)
            .where(rebalancing_plans.c.version > 2)
            .order_by(rebalancing_plans.c.version)
        ).all()
    assert [tuple(row) for row in states] == [("nightly", "failed"), ("operator", "running")]
    summary = plan.summary
    assert summary["imbalance_before"] == 7 + 6  # the station's surplus, the office's deficit
    assert summary["imbalance_after"] == 0  # the depot takes the seventh bike
    assert sum(truck["metres"] for truck in summary["trucks"]) == summary["truck_metres"]
    assert all(0 < truck["seconds"] <= 6 * 3600 for truck in summary["trucks"])
    assert sum(stop.bikes for stop in stops if stop.site == "Office") == -6
    picked = {a for stop in stops if stop.bikes > 0 for a in stop.asset_ids}
    assert len(picked) == 7 and str(helper.id) in {str(a) for a in picked}


def test_each_stop_is_named_for_its_driver_by_the_nearest_named_zone(platform):
    north_of_station = (STATION[0], STATION[1] + 0.0027)  # 300 m north, outside every hotspot
    strays = [bike_at(platform, north_of_station) for _ in range(3)]
    past_mornings(platform, strays[0], OFFICE, per_morning=2)  # the office needs 3

    details = plan_details(platform.uow(), run(platform, RunTrigger.OPERATOR))

    named = {stop.site: details.landmarks[stop.position] for stop in details.stops}
    stray_site = next(site for site in named if site != "Office")
    assert named["Office"] == Landmark("Office", 0, None)
    assert named[stray_site] == Landmark("Station", 300, "N")


def test_drivers_stops_move_the_bikes_and_a_repeat_changes_nothing(platform):
    piled = [bike_at(platform, STATION) for _ in range(3)]
    past_mornings(platform, piled[0], OFFICE, per_morning=2)  # office needs 3
    plan_id = run(platform, RunTrigger.OPERATOR)
    with platform.uow() as uow:
        stops = uow.rebalancing.stops(plan_id)
    [(truck, pick)] = [(s.truck, s.seq) for s in stops if s.bikes > 0]
    [(_, drop)] = [(s.truck, s.seq) for s in stops if s.bikes < 0]

    def mark_stop_done(seq):
        command = MarkStopDone(plan_id, truck, seq)
        return rebalancing_execution.mark_stop_done(platform.uow(), command, utc_now())

    picked = mark_stop_done(pick)
    with platform.uow() as uow:
        on_truck = [uow.assets.get(a.id).in_service for a in piled]
    dropped = mark_stop_done(drop)
    again = mark_stop_done(drop)

    assert sorted(picked.moved) == sorted(str(a.id) for a in piled) and on_truck == [False] * 3
    assert sorted(dropped.moved) == sorted(picked.moved) and again.already_done
    with platform.uow() as uow:
        assert all(uow.assets.get(a.id).in_service for a in piled)
        kinds = uow.connection.execute(
            select(rebalancing_plans.c.state).where(rebalancing_plans.c.id == plan_id)
        ).scalar_one()
    assert kinds == "ready"


def test_a_quiet_night_makes_an_empty_plan(platform):
    plan_id = run(platform, RunTrigger.NIGHTLY)

    with platform.uow() as uow:
        plan = uow.rebalancing.plan(plan_id)
        stops = uow.rebalancing.stops(plan_id)
    assert (plan.state, plan.error, stops) == ("ready", None, [])
    assert plan.summary["imbalance_before"] == plan.summary["imbalance_after"] == 0


def test_the_nightly_schedule_runs_a_city_once_at_its_hour(platform):
    one_am = datetime(2026, 11, 23, 17, 10, tzinfo=UTC)  # 01:10 in Shanghai

    def due_cities(now):
        return rebalancing_runs.due_cities(platform.uow(), now)

    assert CITY not in due_cities(NOW)  # 22:00 there
    assert CITY in due_cities(one_am)
    run(platform, RunTrigger.NIGHTLY, one_am)
    assert CITY not in due_cities(one_am + timedelta(minutes=30))
    assert CITY in due_cities(one_am + timedelta(days=1))


def routed_fleet(platform, url):
    fleet = fleet_view(rebalancing_fleets.fleet_of(platform.uow(), CITY)).json()
    del fleet["city_id"]  # named by the path, not the body
    configure(platform, {**fleet, "routing_url": url})


def pile_at_the_station_wanted_at_the_office(platform):
    piled = [bike_at(platform, STATION) for _ in range(3)]
    past_mornings(platform, piled[0], OFFICE, per_morning=2)


def test_a_fleet_with_a_routing_service_plans_on_road_distances(platform):
    pile_at_the_station_wanted_at_the_office(platform)
    with osrm_peer() as peer:
        routed_fleet(platform, peer.url + "/")
        plan_id = run(platform, RunTrigger.OPERATOR)
    with platform.uow() as uow:
        plan, stops = uow.rebalancing.plan(plan_id), uow.rebalancing.stops(plan_id)

    assert plan.summary["distances"] == "road routing service" and peer.requests >= 1
    depot = (121.475, 31.230)
    first = next(stop for stop in stops if stop.seq == 1)
    assert first.metres_from_previous == round(road_metres(depot, STATION))


def test_a_routing_service_that_is_down_leaves_a_plan_on_great_circles(platform):
    pile_at_the_station_wanted_at_the_office(platform)
    with osrm_peer() as peer:
        url = peer.url  # closed when the run starts
    routed_fleet(platform, url)

    plan_id = run(platform, RunTrigger.NIGHTLY)

    with platform.uow() as uow:
        plan = uow.rebalancing.plan(plan_id)
    assert plan.state == "ready" and plan.summary["bikes_moved"] > 0
    assert plan.summary["distances"].startswith("great circle (the routing service failed")


@pytest.mark.parametrize("odd", [1e30, float("nan"), -500, "far"], ids=repr)
def test_a_routing_service_answering_nonsense_leaves_a_plan_on_great_circles(platform, odd):
    pile_at_the_station_wanted_at_the_office(platform)
    with osrm_peer(odd_distance=odd) as peer:
        routed_fleet(platform, peer.url)
        plan_id = run(platform, RunTrigger.NIGHTLY)

    with platform.uow() as uow:
        plan, stops = uow.rebalancing.plan(plan_id), uow.rebalancing.stops(plan_id)
    assert plan.state == "ready" and plan.summary["bikes_moved"] > 0
    assert plan.summary["distances"].startswith("great circle (the routing service failed")
    assert "not a distance" in plan.summary["distances"]
    assert all(stop.metres_from_previous >= 0 for stop in stops)


def test_a_routing_url_must_be_a_web_address(platform):
    fleet = fleet_view(rebalancing_fleets.fleet_of(platform.uow(), CITY)).json()
    del fleet["city_id"]
    for wrong in ("ftp://osrm.example/", "osrm:5000", "http://[::1", 7):
        with pytest.raises(ValidationError, match="routing_url"):
            configure(platform, {**fleet, "routing_url": wrong})
