"""Damage reports hide an asset until every one is closed; operators take assets out of
service and truck crews move bikes, each step in the vehicle's history, in memory."""

import uuid
from datetime import timedelta

import pytest

from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import Asset, ServicePolicy
from rental.domain.maintenance import DamageCategory, DamageReport, RebalanceStep, ReportState
from rental.domain.mds import VehicleEvent
from rental.domain.rentals import Rental
from rental.domain.riders import User
from rental.services import maintenance, reservations, vehicles
from rental.services.commands.assets import SearchNearby
from rental.services.commands.maintenance import (
    CloseDamageReport,
    ListDamageReports,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)
from rental.services.commands.rides import RequestUnlock, Reserve
from rental.services.rentals import Unlocking, request_unlock
from tests.unit.fakes import RecordingLockCommands
from tests.unit.fakes.world import CITY, HOME, World

POLICY = ServicePolicy()
NEARBY = SearchNearby(*HOME, radius_m=500, kinds=None, limit=10)


@pytest.fixture
def world() -> World:
    return World()


def history(world: World, asset: Asset) -> list[tuple[VehicleEvent, float, float]]:
    return [
        (VehicleEvent(event.kind), event.lon, event.lat)
        for event in world.store.vehicle_events
        if event.asset_id == asset.id
    ]


def kinds(world: World, asset: Asset) -> list[VehicleEvent]:
    return [kind for kind, _, _ in history(world, asset)]


def offered(world: World) -> list[str]:
    return [v.code for v in vehicles.nearby(world.uow(), NEARBY, world.now, POLICY)]


def report(
    world: World,
    reporter: User,
    asset: Asset,
    category: DamageCategory = DamageCategory.BRAKES,
    note: str | None = None,
) -> tuple[DamageReport, bool]:
    command = ReportDamage(reporter.id, asset.code, category, "photos/a1.jpg", note)
    return maintenance.report_damage(world.uow(), command, world.now)


def close(world: World, report_id: uuid.UUID, resolution: str = "brakes adjusted") -> DamageReport:
    command = CloseDamageReport(uuid.uuid4(), report_id, resolution)
    return maintenance.close_report(world.uow(), command, world.now + timedelta(hours=1))


def scan(world: World, rider: User, asset: Asset) -> Rental:
    command = RequestUnlock(rider.id, asset.code, uuid.uuid4().hex)
    unlocking = Unlocking(timedelta(seconds=30), POLICY)
    return request_unlock(world.uow(), RecordingLockCommands(), command, world.now, unlocking)


def test_a_damage_report_hides_the_asset_until_every_report_is_closed(world):
    bike = world.bike()
    first, new = report(world, world.rider(), bike)
    second, _ = report(world, world.rider(), bike, DamageCategory.TYRE)
    assert new and first.state is ReportState.OPEN and offered(world) == []
    with pytest.raises(Conflict) as refused:
        scan(world, world.rider(credit_minor=1000), bike)
    assert refused.value.code == "asset_out_of_service"

    close(world, first.id)
    assert offered(world) == []  # the tyre is still flat
    closed = close(world, second.id, "tyre replaced")

    assert offered(world) == [bike.code]
    assert (closed.state, closed.resolution) == (ReportState.CLOSED, "tyre replaced")
    # Damage reported once, cleared once: the asset's state, not each report's.
    assert kinds(world, bike) == [VehicleEvent.DAMAGE_REPORTED, VehicleEvent.DAMAGE_CLEARED]


def test_a_riders_repeated_report_returns_the_open_one(world):
    bike, reporter = world.bike(), world.rider()
    first, new = report(world, reporter, bike)
    repeat, repeated_new = report(world, reporter, bike, DamageCategory.CHAIN, note="and chain")
    assert new and not repeated_new
    assert repeat == first and repeat.category is DamageCategory.BRAKES
    assert len(world.store.damage_reports) == 1


def test_a_report_on_an_unknown_asset_is_not_found(world):
    with pytest.raises(NotFound) as missing:
        command = ReportDamage(world.rider().id, "BK-gone", DamageCategory.SEAT, None, None)
        maintenance.report_damage(world.uow(), command, world.now)
    assert missing.value.code == "asset_not_found"


def test_a_report_is_closed_once_and_an_unknown_one_is_not_found(world):
    filed, _ = report(world, world.rider(), world.bike())
    close(world, filed.id)
    with pytest.raises(Conflict) as twice:
        close(world, filed.id)
    assert twice.value.code == "report_closed"
    with pytest.raises(NotFound) as missing:
        close(world, uuid.uuid4())
    assert missing.value.code == "report_not_found"


def test_operators_list_reports_by_city_and_state_newest_first(world):
    world.add_city("othercity")
    here, there = world.bike(), world.bike(city_id="othercity")
    older, _ = report(world, world.rider(), here)
    world.now += timedelta(minutes=5)
    newer, _ = report(world, world.rider(), here)
    world.now += timedelta(minutes=5)
    elsewhere, _ = report(world, world.rider(), there)
    close(world, older.id)

    def listed(city_id: str | None, state: ReportState | None) -> list[tuple[uuid.UUID, str]]:
        query = ListDamageReports(city_id, state)
        return [(e.report.id, e.asset_code) for e in maintenance.damage_reports(world.uow(), query)]

    assert listed(CITY, None) == [(newer.id, here.code), (older.id, here.code)]
    assert listed(CITY, ReportState.OPEN) == [(newer.id, here.code)]
    assert listed(None, ReportState.OPEN) == [(elsewhere.id, there.code), (newer.id, here.code)]
    assert listed("othercity", ReportState.CLOSED) == []


def test_taking_an_asset_out_of_service_and_back_is_in_its_history(world):
    bike = world.bike()
    out = maintenance.update_asset(world.uow(), UpdateAsset(bike.code, in_service=False), world.now)
    assert not out.in_service and offered(world) == []
    maintenance.update_asset(world.uow(), UpdateAsset(bike.code, in_service=False), world.now)
    back = maintenance.update_asset(world.uow(), UpdateAsset(bike.code, in_service=True), world.now)
    assert back.in_service and offered(world) == [bike.code]
    # Out twice is out once.
    assert kinds(world, bike) == [VehicleEvent.SERVICE_STOP, VehicleEvent.SERVICE_RESUME]


def test_staff_clear_the_retrieval_flag_without_touching_the_service(world):
    bike = world.bike()
    with world.uow() as unit:
        unit.assets.set_needs_retrieval(bike.id, True)
        unit.commit()
    cleared = maintenance.update_asset(
        world.uow(), UpdateAsset(bike.code, needs_retrieval=False), world.now
    )
    assert cleared.in_service
    assert not world.store.assets[bike.id].needs_retrieval
    assert kinds(world, bike) == []


def test_an_unknown_asset_cannot_be_updated(world):
    with pytest.raises(NotFound) as missing:
        maintenance.update_asset(world.uow(), UpdateAsset("BK-gone", in_service=False), world.now)
    assert missing.value.code == "asset_not_found"


def test_a_truck_picks_a_bike_up_out_of_sight_and_puts_it_down_where_the_crew_says(world):
    bike = world.bike()
    depot = (121.48, 31.24)
    loaded = maintenance.rebalance(
        world.uow(), RebalanceAsset(bike.code, RebalanceStep.PICK_UP, None), world.now
    )
    assert not loaded.in_service and offered(world) == []
    put_down = maintenance.rebalance(
        world.uow(), RebalanceAsset(bike.code, RebalanceStep.DROP_OFF, depot), world.now
    )
    assert put_down.in_service
    assert history(world, bike) == [
        (VehicleEvent.REBALANCE_PICK_UP, *HOME),  # where its lock last was
        (VehicleEvent.REBALANCE_DROP_OFF, *depot),
    ]


def test_a_bike_not_on_the_truck_cannot_be_put_down_nor_picked_up_twice(world):
    bike = world.bike()
    drop = RebalanceAsset(bike.code, RebalanceStep.DROP_OFF, None)
    with pytest.raises(Conflict) as not_loaded:
        maintenance.rebalance(world.uow(), drop, world.now)
    assert not_loaded.value.code == "not_picked_up"
    pick = RebalanceAsset(bike.code, RebalanceStep.PICK_UP, None)
    maintenance.rebalance(world.uow(), pick, world.now)
    with pytest.raises(Conflict) as twice:
        maintenance.rebalance(world.uow(), pick, world.now)
    assert twice.value.code == "not_in_service"


def test_a_bike_in_use_or_reserved_stays_where_it_is(world):
    ridden, reserved = world.bike(), world.bike()
    scan(world, world.rider(credit_minor=1000), ridden)
    hold = Reserve(world.rider().id, reserved.code, "hold-0001")
    reservations.reserve(world.uow(), hold, world.now, timedelta(minutes=15), POLICY)
    for bike, expected in ((ridden, "asset_in_use"), (reserved, "asset_reserved")):
        with pytest.raises(Conflict) as refused:
            maintenance.rebalance(
                world.uow(), RebalanceAsset(bike.code, RebalanceStep.PICK_UP, None), world.now
            )
        assert refused.value.code == expected
    # Once the reservation has run out, the crew may take the bike.
    later = world.now + timedelta(minutes=16)
    pick = RebalanceAsset(reserved.code, RebalanceStep.PICK_UP, None)
    assert not maintenance.rebalance(world.uow(), pick, later).in_service


def test_an_unknown_bike_cannot_be_rebalanced(world):
    pick = RebalanceAsset("BK-gone", RebalanceStep.PICK_UP, None)
    with pytest.raises(NotFound) as missing:
        maintenance.rebalance(world.uow(), pick, world.now)
    assert missing.value.code == "asset_not_found"
