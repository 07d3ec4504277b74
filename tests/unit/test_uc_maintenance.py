"""Damage reports hide an asset until every one is closed; operators take assets out of
service and truck crews move bikes, each step in the vehicle's history, in memory."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import Conflict, Forbidden, LimitReached, NotFound, RentalError
from rental.domain.fair_use import DEFAULT_REPORTING_RULES, ReportingRules
from rental.domain.fleet import Asset, ServicePolicy
from rental.domain.maintenance import DamageCategory, DamageReport, RebalanceStep, ReportState
from rental.domain.mds import VehicleEvent
from rental.domain.rentals import Rental
from rental.domain.riders import User
from rental.services import maintenance, reservations, vehicles
from rental.services.commands.assets import SearchNearby
from rental.services.commands.maintenance import (
    CloseAssetReports,
    CloseDamageReport,
    ListDamageReports,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)
from rental.services.commands.rides import CancelReservation, RequestUnlock, Reserve
from rental.services.rentals import Unlocking, fail_unanswered_unlocks, request_unlock
from tests.unit.fakes import RecordingLockCommands
from tests.unit.fakes.world import CITY, HOME, World

POLICY = ServicePolicy()
HOLD = timedelta(minutes=15)
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
    command = ReportDamage(reporter.id, asset.code, category, None, note)
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
    first, new = report(world, world.rider_who_rode(bike), bike)
    second, _ = report(world, world.rider_who_rode(bike), bike, DamageCategory.TYRE)
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


def test_a_riders_repeated_report_amends_the_open_one_and_loses_nothing_said(world):
    bike = world.bike()
    reporter = world.rider_who_rode(bike)
    first, new = report(world, reporter, bike, note="front brake slips")
    repeat, repeated_new = report(world, reporter, bike, DamageCategory.CHAIN, note="and chain")
    assert new and not repeated_new
    assert repeat.id == first.id and repeat.category is DamageCategory.CHAIN
    assert repeat.note == "front brake slips\nand chain"
    (stored,) = world.store.damage_reports.values()
    assert (stored.category, stored.note) == (DamageCategory.CHAIN, "front brake slips\nand chain")
    again, _ = report(world, reporter, bike, DamageCategory.CHAIN)  # nothing new to say
    assert again.note == "front brake slips\nand chain"


def test_an_amended_note_too_long_for_both_keeps_the_newest():
    earlier = DamageReport(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), DamageCategory.TYRE, ReportState.OPEN,
        datetime(2026, 12, 1, tzinfo=UTC), "photo-1", "x" * 400,
    )  # fmt: skip
    earlier.amend(DamageCategory.TYRE, None, "y" * 200)
    assert (earlier.note, earlier.photo_ref) == ("y" * 200, "photo-1")


# --- who may report: riders who were at the asset, a few times a day ---------------------


def refused_report(
    world: World, reporter: User, asset: Asset, rules: ReportingRules = DEFAULT_REPORTING_RULES
) -> RentalError:
    command = ReportDamage(reporter.id, asset.code, DamageCategory.BRAKES, None, None)
    with pytest.raises(RentalError) as refused:
        maintenance.report_damage(world.uow(), command, world.now, rules)
    return refused.value


def test_a_rider_who_never_rode_nor_tried_an_asset_cannot_report_it(world):
    fleet = [world.bike(metres_east=n) for n in range(3)]
    newcomer, rider_of_first = world.rider(), world.rider_who_rode(fleet[0])
    for reporter, asset in [(newcomer, bike) for bike in fleet] + [(rider_of_first, fleet[1])]:
        refusal = refused_report(world, reporter, asset)
        assert isinstance(refusal, Forbidden) and refusal.code == "report_not_eligible"
        assert "rode in the last 30 minutes" in refusal.message
    assert offered(world) == [bike.code for bike in fleet]
    assert world.store.damage_reports == {}
    assert all(kinds(world, bike) == [] for bike in fleet)


def riding(world: World, rider: User, bike: Asset) -> None:
    rental = world.scan(rider, bike, world.now - timedelta(minutes=20))
    with world.uow() as unit:
        riding = unit.rentals.get(rental.id)
        assert riding is not None
        riding.confirm_unlock(world.now - timedelta(minutes=20))
        unit.rentals.save(riding)
        unit.commit()


def unlocking(world: World, rider: User, bike: Asset) -> None:
    world.scan(rider, bike)


def rode_ending(minutes_ago: int) -> Callable[[World, User, Asset], None]:
    def rode(world: World, rider: User, bike: Asset) -> None:
        start = world.now - timedelta(minutes=minutes_ago + 10)
        world.ride(rider, bike, start, minutes=10)

    return rode


def unlock_failed(minutes_ago: int) -> Callable[[World, User, Asset], None]:
    def failed(world: World, rider: User, bike: Asset) -> None:
        at = world.now - timedelta(minutes=minutes_ago)
        world.scan(rider, bike, at)
        timed_out = fail_unanswered_unlocks(world.uow(), at + timedelta(minutes=1), timedelta(0))
        assert len(timed_out) == 1

    return failed


def hold_cancelled(minutes_ago: int) -> Callable[[World, User, Asset], None]:
    def cancelled(world: World, rider: User, bike: Asset) -> None:
        at = world.now - timedelta(minutes=minutes_ago)
        command = Reserve(rider.id, bike.code, "hold-0001")
        hold = reservations.reserve(world.uow(), command, at - timedelta(minutes=3), HOLD, POLICY)
        reservations.cancel(world.uow(), CancelReservation(rider.id, hold.id), at)

    return cancelled


def holding(world: World, rider: User, bike: Asset) -> None:
    command = Reserve(rider.id, bike.code, "hold-0001")
    reservations.reserve(world.uow(), command, world.now - timedelta(minutes=14), HOLD, POLICY)


@pytest.mark.parametrize(
    ("was_there", "allowed"),
    [
        (riding, True),
        (unlocking, True),
        (rode_ending(30), True),
        (rode_ending(31), False),
        (unlock_failed(15), True),
        (unlock_failed(16), False),
        (holding, True),
        (hold_cancelled(15), True),
        (hold_cancelled(16), False),
    ],
    ids=[
        "riding it",
        "unlocking it",
        "rode it 30 min ago",
        "rode it 31 min ago",
        "unlock failed 15 min ago",
        "unlock failed 16 min ago",
        "holding it",
        "hold cancelled 15 min ago",
        "hold cancelled 16 min ago",
    ],
)
def test_a_rider_reports_what_they_ride_rode_or_tried_to_take_moments_ago(
    world, was_there, allowed
):
    bike, rider = world.bike(), world.rider(credit_minor=1000)
    was_there(world, rider, bike)
    if allowed:
        filed, new = report(world, rider, bike)
        assert new and filed.state is ReportState.OPEN
        assert kinds(world, bike)[-1] is VehicleEvent.DAMAGE_REPORTED
    else:
        assert refused_report(world, rider, bike).code == "report_not_eligible"
        assert world.store.damage_reports == {}


def test_a_rider_sends_at_most_three_reports_in_any_24_hours(world):
    rider = world.rider()
    fleet = [world.bike(metres_east=n) for n in range(4)]
    first_at = world.now
    for hour, bike in enumerate(fleet[:3]):
        world.now = first_at + timedelta(hours=hour)
        world.rider_who_rode(bike, rider=rider)
        report(world, rider, bike)
    world.now = first_at + timedelta(hours=3)
    world.rider_who_rode(fleet[3], rider=rider)

    refusal = refused_report(world, rider, fleet[3])
    assert isinstance(refusal, LimitReached) and refusal.code == "report_limit_reached"
    assert refusal.retry_at == first_at + timedelta(hours=24)
    assert refusal.retry_after_seconds == 21 * 3600
    # Repeating an open report is answered, and counts nothing.
    assert report(world, rider, fleet[2])[1] is False
    assert len(world.store.damage_reports) == 3

    world.now = first_at + timedelta(hours=24)
    world.rider_who_rode(fleet[3], rider=rider)
    assert report(world, rider, fleet[3])[1] is True


def test_the_reporting_windows_and_the_daily_limit_are_settings(world):
    first, second = world.bike(), world.bike()
    rider = world.rider_who_rode(first, minutes_ago=50)
    world.rider_who_rode(second, minutes_ago=50, rider=rider)
    patient = ReportingRules(after_ride=timedelta(hours=1), per_day=1)
    command = ReportDamage(rider.id, first.code, DamageCategory.TYRE, None, None)
    assert maintenance.report_damage(world.uow(), command, world.now, patient)[1] is True
    assert refused_report(world, rider, second, patient).code == "report_limit_reached"
    assert refused_report(world, rider, second).code == "report_not_eligible"


def test_a_report_on_an_unknown_asset_is_not_found(world):
    with pytest.raises(NotFound) as missing:
        command = ReportDamage(world.rider().id, "BK-gone", DamageCategory.SEAT, None, None)
        maintenance.report_damage(world.uow(), command, world.now)
    assert missing.value.code == "asset_not_found"


def test_a_report_is_closed_once_and_an_unknown_one_is_not_found(world):
    bike = world.bike()
    filed, _ = report(world, world.rider_who_rode(bike), bike)
    close(world, filed.id)
    with pytest.raises(Conflict) as twice:
        close(world, filed.id)
    assert twice.value.code == "report_closed"
    with pytest.raises(NotFound) as missing:
        close(world, uuid.uuid4())
    assert missing.value.code == "report_not_found"


def test_an_operator_closes_every_open_report_of_an_asset_at_once(world):
    bike, elsewhere = world.bike(), world.bike()
    brakes, _ = report(world, world.rider_who_rode(bike), bike)
    tyre, _ = report(world, world.rider_who_rode(bike), bike, DamageCategory.TYRE)
    other, _ = report(world, world.rider_who_rode(elsewhere), elsewhere)
    operator = uuid.uuid4()

    command = CloseAssetReports(operator, bike.code, "brakes and tyre fixed")
    closed = maintenance.close_asset_reports(world.uow(), command, world.now)

    assert sorted(r.id for r in closed) == sorted([brakes.id, tyre.id])
    stored = [world.store.damage_reports[r.id] for r in (brakes, tyre)]
    assert {(r.state, r.resolution, r.closed_by) for r in stored} == {
        (ReportState.CLOSED, "brakes and tyre fixed", operator)
    }
    assert world.store.damage_reports[other.id].state is ReportState.OPEN
    assert offered(world) == [bike.code]
    assert kinds(world, bike) == [VehicleEvent.DAMAGE_REPORTED, VehicleEvent.DAMAGE_CLEARED]
    # Nothing left to close: nothing closed, nothing recorded again.
    assert maintenance.close_asset_reports(world.uow(), command, world.now) == []
    assert kinds(world, bike)[-1] is VehicleEvent.DAMAGE_CLEARED and len(kinds(world, bike)) == 2
    with pytest.raises(NotFound) as missing:
        unknown = CloseAssetReports(operator, "BK-gone", "checked")
        maintenance.close_asset_reports(world.uow(), unknown, world.now)
    assert missing.value.code == "asset_not_found"


def test_operators_list_reports_by_city_and_state_newest_first(world):
    world.add_city("othercity")
    here, there = world.bike(), world.bike(city_id="othercity")
    older, _ = report(world, world.rider_who_rode(here), here)
    world.now += timedelta(minutes=5)
    newer, _ = report(world, world.rider_who_rode(here), here)
    world.now += timedelta(minutes=5)
    elsewhere, _ = report(world, world.rider_who_rode(there), there)
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
