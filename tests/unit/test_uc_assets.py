"""Operators provision locks, register cabinets, vehicles and items, and see why riders
cannot take an asset, in memory."""

from datetime import timedelta

import pytest

from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import AssetKind, ServicePolicy, UnavailableReason
from rental.domain.maintenance import DamageCategory
from rental.domain.rentals import RentalState
from rental.services import assets, maintenance, reservations
from rental.services.commands.assets import (
    ProvisionLock,
    RegisterCabinet,
    RegisterItem,
    RegisterVehicle,
)
from rental.services.commands.maintenance import ReportDamage, UpdateAsset
from rental.services.commands.rides import RequestUnlock, Reserve
from rental.services.rentals import Unlocking, request_unlock
from tests.unit.fakes import FakeBrokerAccounts, RecordingLockCommands
from tests.unit.fakes.world import CITY, HOME, World

POLICY = ServicePolicy()


@pytest.fixture
def world() -> World:
    return World()


def test_a_provisioned_lock_gets_a_broker_account_and_a_signing_key_shown_once(world):
    broker = FakeBrokerAccounts()
    credentials = assets.provision_lock(world.uow(), broker, ProvisionLock("L-new"))
    assert broker.created == {"L-new": credentials.mqtt_password}
    assert credentials.lock_id == credentials.mqtt_username == "L-new"
    with world.uow() as unit:
        lock = unit.locks.get("L-new")
    assert lock is not None and lock.signing_key.hex() == credentials.signing_key_hex
    assert len(lock.signing_key) == assets.SIGNING_KEY_BYTES
    assert not lock.online  # unheard of until it connects


def test_a_lock_without_an_id_is_given_one(world):
    broker = FakeBrokerAccounts()
    credentials = assets.provision_lock(world.uow(), broker, ProvisionLock(None))
    assert credentials.lock_id.startswith("L") and len(credentials.lock_id) == 13
    assert list(broker.created) == [credentials.lock_id]


def test_a_lock_is_provisioned_once(world):
    assets.provision_lock(world.uow(), FakeBrokerAccounts(), ProvisionLock("L-twice"))
    broker = FakeBrokerAccounts()
    with pytest.raises(Conflict) as refused:
        assets.provision_lock(world.uow(), broker, ProvisionLock("L-twice"))
    assert refused.value.code == "lock_exists"
    assert broker.created == {}


def test_a_lock_whose_broker_account_failed_is_not_kept(world):
    broker = FakeBrokerAccounts()
    broker.fail_with = RuntimeError("the broker refused")
    with pytest.raises(RuntimeError):
        assets.provision_lock(world.uow(), broker, ProvisionLock("L-lost"))
    with world.uow() as unit:
        assert unit.locks.get("L-lost") is None


def test_a_vehicle_is_registered_on_its_own_lock(world):
    lock = world.lock()
    bike = assets.register_asset(
        world.uow(), RegisterVehicle("BK-0001", AssetKind.EBIKE, CITY, lock.id)
    )
    assert assets.asset_by_code(world.uow(), "BK-0001") == bike
    assert (bike.lock_id, bike.cabinet_id, bike.in_service) == (lock.id, None, True)


@pytest.mark.parametrize(
    ("code", "city", "expected", "error"),
    [
        ("BK-first", CITY, "asset_exists", Conflict),  # the code is taken
        ("BK-other", CITY, "lock_in_use", Conflict),  # the lock holds the first bike
        ("BK-other", "nowhere", "city_not_found", NotFound),
    ],
)
def test_a_vehicle_needs_a_free_code_a_free_lock_and_a_city(world, code, city, expected, error):
    lock = world.lock()
    assets.register_asset(world.uow(), RegisterVehicle("BK-first", AssetKind.BIKE, CITY, lock.id))
    other = world.lock() if expected == "asset_exists" else lock
    with pytest.raises(error) as refused:
        assets.register_asset(world.uow(), RegisterVehicle(code, AssetKind.BIKE, city, other.id))
    assert refused.value.code == expected


def test_a_vehicle_needs_a_provisioned_lock_that_is_no_cabinet(world):
    with pytest.raises(NotFound) as missing:
        assets.register_asset(world.uow(), RegisterVehicle("BK-0001", AssetKind.BIKE, CITY, "L-x"))
    assert missing.value.code == "lock_not_found"
    cabinet = world.cabinet()
    with pytest.raises(Conflict) as refused:
        assets.register_asset(
            world.uow(), RegisterVehicle("BK-0001", AssetKind.BIKE, CITY, cabinet.lock_id)
        )
    assert refused.value.code == "lock_in_use"


def test_a_cabinet_is_registered_once_on_a_lock_that_holds_no_vehicle(world):
    lock = world.lock()
    command = RegisterCabinet(lock.id, CITY, AssetKind.POWER_BANK, 8)
    cabinet = assets.register_cabinet(world.uow(), command)
    assert (cabinet.kind, cabinet.slots) == (AssetKind.POWER_BANK, 8)
    with pytest.raises(Conflict) as twice:
        assets.register_cabinet(world.uow(), command)
    assert twice.value.code == "cabinet_exists"
    bike = world.bike()
    assert bike.lock_id is not None
    with pytest.raises(Conflict) as taken:
        assets.register_cabinet(
            world.uow(), RegisterCabinet(bike.lock_id, CITY, AssetKind.UMBRELLA, 4)
        )
    assert taken.value.code == "lock_in_use"


def test_a_cabinet_needs_its_city_and_its_device(world):
    with pytest.raises(NotFound) as no_device:
        assets.register_cabinet(world.uow(), RegisterCabinet("C-x", CITY, AssetKind.UMBRELLA, 4))
    assert no_device.value.code == "lock_not_found"
    lock = world.lock()
    with pytest.raises(NotFound) as no_city:
        assets.register_cabinet(
            world.uow(), RegisterCabinet(lock.id, "nowhere", AssetKind.UMBRELLA, 4)
        )
    assert no_city.value.code == "city_not_found"


def test_an_item_is_docked_in_a_free_slot_of_a_cabinet_of_its_kind(world):
    cabinet = world.cabinet(AssetKind.UMBRELLA, slots=4)
    umbrella = world.item(cabinet, 2)
    assert (umbrella.lock_id, umbrella.cabinet_id, umbrella.slot) == (None, cabinet.lock_id, 2)
    assert umbrella.device_id == cabinet.lock_id


@pytest.mark.parametrize(
    ("kind", "cabinet_id", "slot", "error", "code"),
    [
        (AssetKind.UMBRELLA, None, 2, Conflict, "slot_taken"),
        (AssetKind.UMBRELLA, None, 5, InvalidInput, "invalid_slot"),
        (AssetKind.UMBRELLA, None, 0, InvalidInput, "invalid_slot"),
        (AssetKind.BASKETBALL, None, 3, Conflict, "wrong_cabinet"),
        (AssetKind.UMBRELLA, "C-none", 3, NotFound, "cabinet_not_found"),
    ],
)
def test_an_item_is_refused_a_taken_missing_or_wrong_slot(
    world, kind, cabinet_id, slot, error, code
):
    cabinet = world.cabinet(AssetKind.UMBRELLA, slots=4)
    world.item(cabinet, 2)
    command = RegisterItem("IT-new", kind, CITY, cabinet_id or cabinet.lock_id, slot)
    with pytest.raises(error) as refused:
        assets.register_asset(world.uow(), command)
    assert refused.value.code == code


def test_an_unknown_code_is_not_found(world):
    with pytest.raises(NotFound) as missing:
        assets.asset_by_code(world.uow(), "BK-nobody")
    assert missing.value.code == "asset_not_found"


def test_the_overview_names_every_reason_riders_cannot_take_an_asset(world):
    now = world.now
    ready = world.bike()
    low = world.bike(battery=POLICY.low_battery_pct - 1)
    silent = world.bike(seen=now - POLICY.silence - timedelta(seconds=1))
    parked_off = world.bike()
    damaged = world.bike()
    reserved = world.bike()
    open_latch = world.bike(locked=False)
    unknown_latch = world.bike()
    maintenance.update_asset(world.uow(), UpdateAsset(parked_off.code, in_service=False), now)
    reporter = world.rider_who_rode(damaged)
    report = ReportDamage(reporter.id, damaged.code, DamageCategory.BRAKES, None, None)
    maintenance.report_damage(world.uow(), report, now)
    hold = Reserve(world.rider().id, reserved.code, "hold-0001")
    reservations.reserve(world.uow(), hold, now, timedelta(minutes=15), POLICY)
    with world.uow() as unit:
        assert unknown_latch.lock_id is not None
        unit.locks.mark_latch_unknown(unknown_latch.lock_id, now)
        unit.commit()

    found = {asset.code: asset for asset in assets.asset_overview(world.uow(), CITY, now, POLICY)}

    why = {code: list(asset.unavailable) for code, asset in found.items()}
    assert why == {
        ready.code: [],
        low.code: [UnavailableReason.LOW_BATTERY],
        silent.code: [UnavailableReason.OFFLINE],
        parked_off.code: [UnavailableReason.OUT_OF_SERVICE],
        damaged.code: [UnavailableReason.DAMAGED],
        reserved.code: [UnavailableReason.RESERVED],
        open_latch.code: [UnavailableReason.LATCH_OPEN],
        unknown_latch.code: [UnavailableReason.LATCH_UNKNOWN],
    }
    assert list(found) == sorted(found)  # by code
    assert (found[ready.code].lon, found[ready.code].lat) == pytest.approx(HOME)
    assert found[damaged.code].open_damage_reports == 1 and found[reserved.code].reserved


def test_the_overview_shows_an_asset_in_a_ride_and_an_item_out_of_its_cabinet(world):
    bike = world.bike()
    cabinet = world.cabinet()
    umbrella = world.item(cabinet, 1)
    world.ride(world.rider(credit_minor=1000), bike, world.now, minutes=10)
    with world.uow() as unit:
        unit.assets.dock(umbrella.id, None, None)  # taken out of its cabinet
        unit.commit()
    other_city = "othercity"
    world.add_city(other_city)
    world.bike(city_id=other_city)

    found = assets.asset_overview(world.uow(), CITY, world.now, POLICY)

    assert [asset.code for asset in found] == [bike.code, umbrella.code]
    assert found[0].rental_state is None and found[0].unavailable == ()
    assert (found[1].online, found[1].cabinet_id, found[1].latch_unknown) == (None, None, False)
    assert UnavailableReason.OFFLINE in found[1].unavailable
    everywhere = assets.asset_overview(world.uow(), None, world.now, POLICY)
    assert len(everywhere) == 3


def test_the_overview_shows_the_state_of_an_open_rental(world):
    bike = world.bike()
    scan = RequestUnlock(world.rider(credit_minor=1000).id, bike.code, "scan-0001")
    request_unlock(
        world.uow(), RecordingLockCommands(), scan, world.now, Unlocking(timedelta(seconds=30))
    )
    [asset] = assets.asset_overview(world.uow(), CITY, world.now, POLICY)
    assert asset.rental_state is RentalState.UNLOCKING
    assert asset.unavailable == (UnavailableReason.IN_USE,)
