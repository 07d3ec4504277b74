"""Receipts in memory (`rental.services.receipts.receipt_for`): the lines always add up to
the fare, whatever changed it (a daily cap, the replacement price, a late unlock's
waiver, a parking or wrong-cabinet fee), and say how it was paid and what was refunded."""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import Conflict, NotFound
from rental.domain.pricing import Tariff
from rental.services import items
from rental.services.lock_reports import LockEventKind
from rental.services.receipts import receipt_for
from tests.unit.world import (
    CITY,
    OPENED,
    OUTSIDE,
    POWER_BANK_PRICE,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    World,
    closed,
    event,
    unlocked,
)

# 1.00 CNY to unlock, 1.50 CNY per started half hour, 5.00 CNY to park outside.
PRICE = Tariff("CNY", 100, 150, 1800, out_of_zone_fee_minor=500)


def ride(world: World, minutes: float, credit_minor: int = 1000, where=(121.4737, 31.2304)):
    rider, rental = world.riding(credit_minor=credit_minor)
    at = OPENED + timedelta(minutes=minutes)
    world.report(closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at, where))
    return rider, rental


def item_rental(world: World, fee_minor: int = 0):
    """A power bank out of C-home since OPENED."""
    with world.uow() as unit:
        price = replace(POWER_BANK_PRICE, out_of_zone_fee_minor=fee_minor)
        unit.pricing_plans.publish(CITY, "power_bank", price)
        unit.commit()
    world.add_cabinet("C-home")
    item = world.add_item("PB0001", "C-home", 1)
    rider = world.add_rider(5000)
    rental = world.request(rider, item)
    command = str(rental.unlock_command_id)
    world.report(event("C-home", 1, 1, LockEventKind.RELEASED, OPENED, command_id=command, slot=1))
    return rider, rental


def returned_to(world: World, cabinet_id: str, after: timedelta) -> None:
    world.report(
        event(cabinet_id, 1, 2, LockEventKind.RETURNED, OPENED + after, slot=1, item="PB0001")
    )


def lines(receipt) -> list[tuple[str, int]]:
    return [(line.kind, line.amount_minor) for line in receipt.lines]


def test_a_ride_paid_from_the_wallet_is_itemised():
    world = World(bike_price=PRICE)
    rider, rental = ride(world, 40)
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert receipt.number == f"R-{rental.id.hex[:12].upper()}"
    assert (receipt.asset_code, receipt.asset_kind) == ("BK-L-ride", "bike")
    assert lines(receipt) == [("unlock", 100), ("riding", 300)]
    assert receipt.total_minor == 400 == receipt.rental.fare_minor
    assert (receipt.paid_from_wallet_minor, receipt.owed_minor, receipt.refunded_minor) == (
        400,
        0,
        0,
    )


def test_a_fare_beyond_the_wallet_is_split_into_paid_and_owed():
    world = World(bike_price=PRICE)
    rider, rental = ride(world, 40, credit_minor=150)
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert (receipt.total_minor, receipt.paid_from_wallet_minor, receipt.owed_minor) == (
        400,
        150,
        250,
    )


def test_a_parking_fee_has_a_line_of_its_own():
    world = World(bike_price=PRICE)
    rider, rental = ride(world, 10, where=OUTSIDE)
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert lines(receipt) == [("unlock", 100), ("riding", 150), ("parking_fee", 500)]
    assert receipt.total_minor == 750


def test_a_late_unlock_locked_again_unused_is_waived_on_the_receipt():
    world = World(bike_price=PRICE)
    asset = world.add_bike("L-late")
    rider = world.add_rider()
    rental = world.request(rider, asset)
    world.time_out(rental)
    late = START + timedelta(seconds=40)
    world.report(unlocked(rental, at=late))
    world.report(closed("L-late", UNLOCK_BOOT, UNLOCK_SEQ + 1, late + timedelta(seconds=20)))
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert lines(receipt) == [("unlock", 100), ("riding", 150), ("late_unlock_waiver", -250)]
    assert (receipt.total_minor, receipt.paid_from_wallet_minor) == (0, 0)


def test_an_item_kept_past_its_replacement_price_is_capped_at_it():
    world = World()
    rider, rental = item_rental(world)
    returned_to(world, "C-home", timedelta(days=6))  # 6 x 20.00 CNY a day > 99.00
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert lines(receipt) == [
        ("riding", 144 * 200),
        ("daily_cap", 6 * 2000 - 144 * 200),
        ("replacement_cap", 9900 - 6 * 2000),
    ]
    assert receipt.total_minor == 9900 == sum(amount for _, amount in lines(receipt))
    assert (receipt.paid_from_wallet_minor, receipt.owed_minor) == (5000, 4900)


def test_an_item_never_returned_is_one_line_at_its_replacement_price():
    world = World()
    rider, rental = item_rental(world)
    assert items.end_unreturned(world.uow(), OPENED + timedelta(days=5), 0) == 1
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert lines(receipt) == [("replacement", 9900)]
    assert (receipt.asset_code, receipt.asset_kind) == ("PB0001", "power_bank")


def test_a_return_to_the_wrong_kind_of_cabinet_shows_its_fee():
    world = World()
    rider, rental = item_rental(world, fee_minor=500)
    world.add_cabinet("C-umbrellas", kind="umbrella")
    returned_to(world, "C-umbrellas", timedelta(minutes=90))
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert lines(receipt) == [("riding", 400), ("wrong_cabinet_fee", 500)]
    assert receipt.total_minor == 900


def test_refunds_of_the_rentals_disputes_are_on_the_receipt():
    world = World(bike_price=PRICE)
    rider, rental = ride(world, 40)
    refunded = Dispute(
        uuid.uuid4(), rental.id, rider.id, "I never rode", DisputeState.REFUNDED, 250
    )
    rejected = Dispute(uuid.uuid4(), rental.id, rider.id, "Again", DisputeState.REJECTED, 0)
    with world.uow() as unit:
        unit.disputes.add(refunded)
        unit.disputes.add(rejected)
        unit.commit()
    receipt = receipt_for(world.uow(), rider.id, rental.id)
    assert receipt.refunded_minor == 250
    assert [dispute.id for dispute in receipt.disputes] == [refunded.id, rejected.id]
    assert receipt.paid_from_wallet_minor == 400  # the refund does not rewrite the fare


def test_a_receipt_is_ready_only_when_the_rental_has_ended():
    world = World()
    rider, rental = world.riding()
    with pytest.raises(Conflict) as refused:
        receipt_for(world.uow(), rider.id, rental.id)
    assert refused.value.code == "receipt_not_ready"


def test_another_riders_receipt_is_not_found():
    world = World()
    _, rental = ride(world, 10)
    stranger = world.add_rider()
    with pytest.raises(NotFound) as refused:
        receipt_for(world.uow(), stranger.id, rental.id)
    assert refused.value.code == "rental_not_found"
