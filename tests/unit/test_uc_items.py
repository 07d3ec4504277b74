"""Items from cabinets in memory (`rental.services.items`, docs/lock-protocol.md §10):
released from a slot, returned to any cabinet (of another kind: a fee and an alert), or
never returned and sold at their replacement price; as tests/integration/test_items.py
checks them on PostgreSQL."""

from dataclasses import replace
from datetime import timedelta

import pytest

from rental.domain.alerts import AlertKind
from rental.domain.rentals import RentalState
from rental.domain.zones import Parking
from rental.services import alerts, items
from rental.services.lock_reports import LockEventKind
from tests.unit.fakes import SentUnlock
from tests.unit.world import CITY, OTHER_CITY, POWER_BANK_PRICE, START, World, event, telemetry

RELEASED_AT = START + timedelta(seconds=5)
AN_HOUR_LATER = RELEASED_AT + timedelta(hours=1)


@pytest.fixture
def world() -> World:
    world = World()
    world.add_cabinet("C-home")
    return world


def rent(world: World, code: str = "PB0001", slot: int = 3, credit_minor: int = 5000):
    """A rider takes a new power bank out of C-home's `slot` at RELEASED_AT."""
    item = world.add_item(code, "C-home", slot)
    rider = world.add_rider(credit_minor)
    rental = world.request(rider, item)
    world.report(
        event(
            "C-home",
            1,
            slot,
            LockEventKind.RELEASED,
            RELEASED_AT,
            command_id=str(rental.unlock_command_id),
            slot=slot,
            item=code,
        )
    )
    return rider, item, rental


def returned(world: World, cabinet_id: str, seq: int, at, **fields):
    world.report(event(cabinet_id, 1, seq, LockEventKind.RETURNED, at, **fields))


def test_the_release_command_names_the_cabinet_and_the_slot(world):
    item = world.add_item("PB0001", "C-home", 3)
    rental = world.request(world.add_rider(), item)
    assert rental.slot == 3 and rental.lock_id == "C-home"
    assert world.commands.sent == [
        SentUnlock("C-home", rental.id, rental.unlock_command_id, 3, rental.unlock_expires_at)
    ]


def test_a_power_bank_released_at_one_cabinet_and_returned_at_another_is_charged_once(world):
    world.add_cabinet("C-two")
    rider, item, rental = rent(world)
    started = world.rental(rental)
    assert (started.state, started.started_at) == (RentalState.ACTIVE, RELEASED_AT)
    assert world.asset(item).cabinet_id is None  # with the rider now
    for _ in range(2):  # delivered twice
        returned(world, "C-two", 7, AN_HOUR_LATER, slot=2, item="PB0001")
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.ended_at == AN_HOUR_LATER
    assert ended.fare_minor == 200  # an hour at 2.00 CNY an hour
    assert (ended.parking, ended.parking_message) == (
        Parking.OK,
        "Returned to cabinet C-two, slot 2.",
    )
    assert world.wallet(rider) == 5000 - 200
    docked = world.asset(item)
    assert (docked.cabinet_id, docked.slot) == ("C-two", 2)
    assert not world.needs_retrieval(item)
    assert world.credit_reasons(rider) == ["clean_ride"]


def test_an_item_returned_to_its_kind_of_cabinet_in_another_city_is_flagged_for_staff(world):
    world.add_cabinet("C-away", city_id=OTHER_CITY)
    _, item, rental = rent(world)
    returned(world, "C-away", 1, AN_HOUR_LATER, slot=1, item="PB0001")
    ended = world.rental(rental)
    assert (ended.state, ended.parking, ended.fare_minor) == (RentalState.ENDED, Parking.OK, 200)
    assert world.needs_retrieval(item) and world.asset(item).in_service
    assert alerts.open_alerts(world.uow(), None)[0] == []


def test_an_item_pushed_into_a_cabinet_of_another_kind_ends_like_a_bike_parked_badly(world):
    with world.uow() as unit:  # this city charges for returns to the wrong place
        unit.pricing_plans.publish(
            CITY, "power_bank", replace(POWER_BANK_PRICE, out_of_zone_fee_minor=500)
        )
        unit.commit()
    world.add_cabinet("C-umbrellas", kind="umbrella")
    rider, item, rental = rent(world)
    returned(world, "C-umbrellas", 2, AN_HOUR_LATER, slot=1, item="PB0001")
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED  # the rider cannot get it out: time stops
    assert ended.parking is Parking.WRONG_CABINET
    assert ended.parking_message == (
        "Put into cabinet C-umbrellas (slot 1), which takes umbrellas only: power-banks go "
        "back to a power-bank cabinet. Staff will move it; the wrong-place fee applies."
    )
    assert ended.fare_minor == 200 + 500
    assert [line.kind for line in ended.receipt_lines()] == ["riding", "wrong_cabinet_fee"]
    assert world.wallet(rider) == 5000 - 700
    assert world.credit_reasons(rider) == ["parking_violation"]
    hidden = world.asset(item)
    assert not hidden.in_service and world.needs_retrieval(item)
    [alert], _ = alerts.open_alerts(world.uow(), CITY)
    assert (alert.kind, alert.lock_id, alert.asset_code) == (
        AlertKind.MISPLACED_ITEM,
        "C-umbrellas",
        "PB0001",
    )
    assert alert.detail == "PB0001 (power_bank) is in slot 1 of a umbrella cabinet"
    # Staff take it out and put it back where it belongs: the alert resolves.
    returned(world, "C-home", 9, AN_HOUR_LATER + timedelta(hours=1), slot=2, item="PB0001")
    assert alerts.reconcile_latches(world.uow(), AN_HOUR_LATER, 0).alerts_resolved == 1
    assert alerts.open_alerts(world.uow(), CITY)[0] == []
    assert world.rental(rental).fare_minor == 700  # the rental was over already


def test_every_item_misplaced_in_one_cabinet_keeps_an_alert_until_it_is_moved(world):
    world.add_cabinet("C-umbrellas", kind="umbrella")
    rent(world, "PB0001", slot=1)
    _, second, _ = rent(world, "PB0002", slot=2)
    returned(world, "C-umbrellas", 11, AN_HOUR_LATER, slot=1, item="PB0001")
    returned(world, "C-umbrellas", 12, AN_HOUR_LATER, slot=2, item="PB0002")
    assert not world.asset(second).in_service  # hidden from riders until staff move it
    returned(world, "C-home", 13, AN_HOUR_LATER, slot=1, item="PB0001")  # staff move one
    alerts.reconcile_latches(world.uow(), AN_HOUR_LATER, 0)
    [alert], _ = alerts.open_alerts(world.uow(), CITY)
    assert alert.asset_code == "PB0002"


def test_an_item_never_returned_is_charged_its_replacement_price_and_taken_out(world):
    rider, item, rental = rent(world)
    # 2.00 CNY an hour, 20.00 a day: 99.00 is reached in the tenth hour of the fifth day.
    assert items.end_unreturned(world.uow(), RELEASED_AT + timedelta(days=4, hours=9), 0) == 0
    assert world.rental(rental).state is RentalState.ACTIVE
    lost_at = RELEASED_AT + timedelta(days=4, hours=9, seconds=1)
    assert items.end_unreturned(world.uow(), lost_at, 0) == 1
    lost = world.rental(rental)
    assert (lost.state, lost.unreturned, lost.ended_at) == (RentalState.ENDED, True, lost_at)
    assert lost.fare_minor == 9900
    assert (world.wallet(rider), world.debt(rider)) == (0, 4900)  # 50.00 paid, 49.00 owed
    assert world.credit_reasons(rider) == ["unreturned_item", "unpaid_fare"]
    assert world.score(rider) == 600 - 50 - 15
    gone = world.asset(item)
    assert not gone.in_service and world.needs_retrieval(item)
    assert items.end_unreturned(world.uow(), lost_at + timedelta(days=1), 0) == 0


def test_a_cabinet_reporting_itself_locked_never_ends_an_item_rental(world):
    _, _, rental = rent(world)
    world.report(telemetry("C-home", 1, 50, AN_HOUR_LATER, locked=True))
    assert world.rental(rental).state is RentalState.ACTIVE


def test_a_release_with_no_rental_waiting_leaves_the_item_docked_and_raises_no_alert(world):
    item = world.add_item("PB0001", "C-home", 3)
    stray = event("C-home", 1, 1, LockEventKind.RELEASED, RELEASED_AT, command_id="x", slot=3)
    world.report(stray)
    assert (world.asset(item).cabinet_id, world.asset(item).slot) == ("C-home", 3)
    assert world.store.alerts == {}


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"slot": 2, "item": "NOSUCHITEM"}, id="an unknown item"),
        pytest.param({"slot": 2}, id="no item"),
        pytest.param({"item": "PB0001"}, id="no slot"),
    ],
)
def test_a_return_that_names_no_known_item_in_a_slot_changes_nothing(world, fields):
    _, item, rental = rent(world)
    returned(world, "C-home", 20, AN_HOUR_LATER, **fields)
    assert world.rental(rental).state is RentalState.ACTIVE
    assert world.asset(item).cabinet_id is None


def test_a_restocked_item_takes_its_slot_from_whatever_was_recorded_there(world):
    stale = world.add_item("PB0001", "C-home", 1)
    restocked = world.add_item("PB0002", "C-home", 2)
    returned(world, "C-home", 30, RELEASED_AT, slot=1, item="PB0002")
    assert (world.asset(restocked).cabinet_id, world.asset(restocked).slot) == ("C-home", 1)
    assert (world.asset(stale).cabinet_id, world.asset(stale).slot) == (None, None)
    assert world.store.rentals == {}


def test_a_late_release_becomes_the_riders_rental(world):
    item = world.add_item("PB0001", "C-home", 3)
    rider = world.add_rider(5000)
    rental = world.request(rider, item)
    world.time_out(rental)
    late = START + timedelta(seconds=50)
    world.report(
        event(
            "C-home",
            1,
            1,
            LockEventKind.RELEASED,
            late,
            command_id=str(rental.unlock_command_id),
            slot=3,
            item="PB0001",
        )
    )
    adopted = world.rental(rental)
    assert (adopted.state, adopted.late_unlock, adopted.started_at) == (
        RentalState.ACTIVE,
        True,
        late,
    )
    assert world.asset(item).cabinet_id is None


def test_a_return_processed_before_its_late_release_ends_the_rental_at_the_return(world):
    # The releasing cabinet lost its connection after letting the item go; the rider
    # returned it to another cabinet before the `released` event arrived (§5.3: the order
    # of processing does not matter).
    world.add_cabinet("C-two")
    item = world.add_item("PB0001", "C-home", 3)
    rental = world.request(world.add_rider(5000), item)
    world.time_out(rental)
    returned(world, "C-two", 1, AN_HOUR_LATER, slot=1, item="PB0001")
    command = str(rental.unlock_command_id)
    world.report(
        event("C-home", 1, 1, LockEventKind.RELEASED, RELEASED_AT, command_id=command, slot=3)
    )
    assert (world.asset(item).cabinet_id, world.asset(item).slot) == ("C-two", 1)
    ended = world.rental(rental)
    assert (ended.state, ended.ended_at, ended.fare_minor) == (
        RentalState.ENDED,
        AN_HOUR_LATER,
        200,
    )
