"""Drivers mark a plan's stops done, in memory: the planned bikes go on the truck, a bike a
rider took meanwhile stays, the truck's bikes come off first in, first out, and a repeated
tap changes nothing."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rebalancing.plans import PlannedStop
from rental.domain.errors import NotFound
from rental.domain.fleet import Asset, AssetKind
from rental.domain.mds import VehicleEvent
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.services.rebalancing_commands import MarkStopDone
from rental.services.rebalancing_execution import mark_stop_done
from tests.unit.rebalancing_fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
STATION = (121.465, 31.230)
OFFICE = (121.485, 31.230)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def bikes(uow: FakeUnitOfWork, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    for n, asset_id in enumerate(ids):
        uow.assets.by_id[asset_id] = Asset(asset_id, f"B{n}", AssetKind.BIKE, "c", f"L{n}")
    return ids


def ready_plan(uow: FakeUnitOfWork, picked: list[uuid.UUID], dropped: int) -> uuid.UUID:
    """Truck 1 picks `picked` up at the station (stop 1), puts `dropped` down at the office
    (stop 2)."""
    plan = uow.rebalancing.add_plan("c", RunTrigger.OPERATOR, NOW)
    names = tuple(str(asset) for asset in picked)
    uow.rebalancing.add_stops(
        plan.id,
        [
            PlannedStop(1, 1, "Station", STATION, len(picked), names, 900),
            PlannedStop(1, 2, "Office", OFFICE, -dropped, (), 1900),
        ],
    )
    uow.rebalancing.end_plan(plan.id, PlanState.READY, NOW, summary={})
    return plan.id


def done(uow: FakeUnitOfWork, plan_id: uuid.UUID, seq: int):
    return mark_stop_done(uow, MarkStopDone(plan_id, 1, seq), NOW)


def test_the_planned_bikes_go_on_the_truck_out_of_riders_sight(uow):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 3)

    result = done(uow, plan_id, 1)

    assert result.moved == [str(b) for b in planned] and result.not_moved == {}
    assert not any(uow.assets.by_id[b].in_service for b in planned)
    assert [event[0] for event in uow.vehicle_history.events] == [
        VehicleEvent.REBALANCE_PICK_UP
    ] * 3
    assert uow.rebalancing.stop_for_update(plan_id, 1, 1).done_at == NOW


def test_a_bike_a_rider_took_meanwhile_stays_and_is_named(uow):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 2)
    uow.assets.taken.add(planned[1])
    gone = uuid.uuid4()  # removed from the books since
    stops = uow.rebalancing.plan_stops[plan_id]
    stops[0] = replace(stops[0], asset_ids=(*planned, gone))

    result = done(uow, plan_id, 1)

    assert result.moved == [str(planned[0]), str(planned[2])]
    assert result.not_moved == {str(planned[1]): "asset_in_use", str(gone): "asset_not_found"}
    assert uow.assets.by_id[planned[1]].in_service
    # The stop now names the bikes that really moved.
    assert uow.rebalancing.stop_for_update(plan_id, 1, 1).asset_ids == (planned[0], planned[2])


def test_the_truck_puts_down_its_bikes_first_in_first_out_where_the_stop_is(uow):
    planned = bikes(uow, 3)
    plan_id = ready_plan(uow, planned, 2)
    done(uow, plan_id, 1)

    result = done(uow, plan_id, 2)

    assert result.moved == [str(planned[0]), str(planned[1])]
    assert [uow.assets.by_id[b].in_service for b in planned] == [True, True, False]
    assert uow.vehicle_history.events[-1] == (VehicleEvent.REBALANCE_DROP_OFF, planned[1], *OFFICE)


def test_a_repeated_tap_changes_nothing(uow):
    planned = bikes(uow, 2)
    plan_id = ready_plan(uow, planned, 2)
    done(uow, plan_id, 1)
    events = len(uow.vehicle_history.events)

    again = done(uow, plan_id, 1)

    assert again.already_done and again.moved == [str(b) for b in planned]
    assert len(uow.vehicle_history.events) == events


def test_only_a_ready_plan_is_driven(uow):
    running = uow.rebalancing.add_plan("elsewhere", RunTrigger.OPERATOR, NOW)
    ready = ready_plan(uow, bikes(uow, 1), 1)

    for plan_id, seq, code in (
        (running.id, 1, "plan_not_found"),
        (uuid.uuid4(), 1, "plan_not_found"),
        (ready, 3, "stop_not_found"),
    ):
        with pytest.raises(NotFound) as refused:
            done(uow, plan_id, seq)
        assert refused.value.code == code
