"""Drivers mark a plan's stops done, in memory: the planned bikes go on the truck, a bike a
rider took meanwhile stays, the truck's bikes come off first in, first out, and a repeated
tap changes nothing."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rebalancing.plans import PlannedStop
from rental.domain.errors import NotFound
from rental.domain.fleet import Asset, AssetKind, Lock
from rental.domain.mds import VehicleEvent
from rental.domain.pricing import Tariff
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.domain.rentals import Rental, RentalState
from rental.services.rebalancing_commands import MarkStopDone
from rental.services.rebalancing_execution import StopDone, mark_stop_done
from tests.unit.fakes import FakeUnitOfWork, Store

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
STATION = (121.465, 31.230)
OFFICE = (121.485, 31.230)
PRICE = Tariff("CNY", unlock_fee_minor=100, rate_per_interval_minor=150, interval_seconds=1800)


@pytest.fixture
def store() -> Store:
    return Store(clock=lambda: NOW)


@pytest.fixture
def uow(store: Store) -> FakeUnitOfWork:
    return FakeUnitOfWork(store)


def bikes(uow: FakeUnitOfWork, count: int) -> list[uuid.UUID]:
    """Bikes in service whose locks stand at the station."""
    ids = [uuid.uuid4() for _ in range(count)]
    with uow:
        for asset_id in ids:
            lock_id = f"L-{asset_id.hex[:8]}"
            uow.locks.add(Lock(lock_id, b"k" * 32))
            uow.locks.record_seen(lock_id, NOW, lon=STATION[0], lat=STATION[1])
            uow.assets.add(Asset(asset_id, f"B-{lock_id}", AssetKind.BIKE, "c", lock_id))
        uow.commit()
    return ids


def ride(uow: FakeUnitOfWork, asset_id: uuid.UUID) -> None:
    """A rider takes the bike."""
    with uow:
        asset = uow.assets.get(asset_id)
        assert asset is not None and asset.lock_id is not None
        rental = Rental(
            uuid.uuid4(), uuid.uuid4(), asset_id, asset.lock_id, PRICE, RentalState.ACTIVE, NOW, "k"
        )
        uow.rentals.add(rental)
        uow.commit()


def ready_plan(uow: FakeUnitOfWork, picked: list[uuid.UUID], dropped: int) -> uuid.UUID:
    """Truck 1 picks `picked` up at the station (stop 1), puts `dropped` down at the office
    (stop 2)."""
    with uow:
        plan = uow.rebalancing.add_plan("c", RunTrigger.OPERATOR, NOW)
        assert plan is not None
        names = tuple(str(asset) for asset in picked)
        uow.rebalancing.add_stops(
            plan.id,
            [
                PlannedStop(1, 1, "Station", STATION, len(picked), names, 900),
                PlannedStop(1, 2, "Office", OFFICE, -dropped, (), 1900),
            ],
        )
        uow.rebalancing.end_plan(plan.id, PlanState.READY, NOW, summary={})
        uow.commit()
    return plan.id


def done(uow: FakeUnitOfWork, plan_id: uuid.UUID, seq: int) -> StopDone:
    return mark_stop_done(uow, MarkStopDone(plan_id, 1, seq), NOW)


def in_service(store: Store, asset_id: uuid.UUID) -> bool:
    return store.assets[asset_id].asset.in_service


def test_the_planned_bikes_go_on_the_truck_out_of_riders_sight(uow, store):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 3)

    result = done(uow, plan_id, 1)

    assert result.moved == [str(b) for b in planned] and result.not_moved == {}
    assert not any(in_service(store, b) for b in planned)
    assert [event.kind for event in store.vehicle_events] == [VehicleEvent.REBALANCE_PICK_UP] * 3
    assert store.rebalancing_stops[plan_id, 1, 1].done_at == NOW


def test_a_bike_a_rider_took_meanwhile_stays_and_is_named(uow, store):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 2)
    ride(uow, planned[1])
    gone = uuid.uuid4()  # removed from the books since
    stop = store.rebalancing_stops[plan_id, 1, 1]
    store.rebalancing_stops[plan_id, 1, 1] = replace(stop, asset_ids=(*planned, gone))

    result = done(uow, plan_id, 1)

    assert result.moved == [str(planned[0]), str(planned[2])]
    assert result.not_moved == {str(planned[1]): "asset_in_use", str(gone): "asset_not_found"}
    assert in_service(store, planned[1])
    # The stop now names the bikes that really moved.
    assert store.rebalancing_stops[plan_id, 1, 1].asset_ids == (planned[0], planned[2])


def test_the_truck_puts_down_its_bikes_first_in_first_out_where_the_stop_is(uow, store):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 2)
    done(uow, plan_id, 1)

    result = done(uow, plan_id, 2)

    assert result.moved == [str(planned[0]), str(planned[1])]
    assert [in_service(store, b) for b in planned] == [True, True, False]
    last = store.vehicle_events[-1]
    assert (last.kind, last.asset_id, last.lon, last.lat) == (
        VehicleEvent.REBALANCE_DROP_OFF,
        planned[1],
        *OFFICE,
    )


def test_a_repeated_tap_changes_nothing(uow, store):
    planned = bikes(uow, 2)
    plan_id = ready_plan(uow, planned, 2)
    done(uow, plan_id, 1)
    events = len(store.vehicle_events)

    again = done(uow, plan_id, 1)

    assert again.already_done and again.moved == [str(b) for b in planned]
    assert len(store.vehicle_events) == events


def test_only_a_ready_plan_is_driven(uow):
    with uow:
        running = uow.rebalancing.add_plan("elsewhere", RunTrigger.OPERATOR, NOW)
        uow.commit()
    assert running is not None
    ready = ready_plan(uow, bikes(uow, 1), 1)

    for plan_id, seq, code in (
        (running.id, 1, "plan_not_found"),
        (uuid.uuid4(), 1, "plan_not_found"),
        (ready, 3, "stop_not_found"),
    ):
        with pytest.raises(NotFound) as refused:
            done(uow, plan_id, seq)
        assert refused.value.code == code
