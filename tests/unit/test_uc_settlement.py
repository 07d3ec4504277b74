"""Settling an ended rental in memory (`rental.services.settlement.settle`): the fare is
booked in balanced postings, paid from the wallet down to its floor and owed beyond it,
the credit score moves, and the app is told once the transaction commits."""

import uuid
from datetime import timedelta

import pytest

from rental.domain.pricing import Tariff
from rental.domain.rentals import Rental, RentalState
from rental.services.settlement import RENTAL_STATE_CHANNEL, settle
from rental.services.wallet import books
from tests.unit.world import START, World


@pytest.fixture
def world() -> World:
    return World()


def ended(rider, fare_minor: int, *, unreturned: bool = False) -> Rental:
    """A rental ended after ten minutes that costs `fare_minor` (all of it to unlock)."""
    tariff = Tariff("CNY", fare_minor, 0, 60)
    rental = Rental(
        uuid.uuid4(),
        rider.id,
        uuid.uuid4(),
        "L-1",
        tariff,
        RentalState.UNLOCKING,
        START,
        "key-12345",
    )
    rental.confirm_unlock(START)
    rental.end(START + timedelta(minutes=10))
    rental.unreturned = unreturned
    return rental


def settled(world: World, rental: Rental, floor: int = 0, **how) -> list[tuple[str, int]]:
    """Settle in a transaction of its own; the postings booked for the fare."""
    unit = world.uow()
    with unit:
        settle(unit, rental, floor, **how)
        unit.commit()
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(rental.id))]
    with world.uow() as unit:
        return unit.ledger.postings_of(f"fare:{rental.id}")


def test_a_fare_the_wallet_covers_is_paid_from_it_and_counts_as_a_clean_ride(world):
    rider = world.add_rider(1000)
    rental = ended(rider, 150)
    assert settled(world, rental) == [("platform_revenue", 150), ("rider_wallet", -150)]
    assert (world.wallet(rider), world.debt(rider)) == (850, 0)
    assert world.credit_reasons(rider) == ["clean_ride"]
    assert world.score(rider) == 602
    assert books(world.uow()).balanced


def test_the_wallet_pays_down_to_its_floor_and_the_rest_is_owed(world):
    rider = world.add_rider(300)
    postings = settled(world, ended(rider, 500), floor=100)
    assert postings == [
        ("platform_revenue", 500),
        ("rider_wallet", -200),
        ("rider_receivable", -300),
    ]
    assert (world.wallet(rider), world.debt(rider)) == (100, 300)
    assert world.credit_reasons(rider) == ["unpaid_fare"]
    assert world.score(rider) == 600 - 15
    assert books(world.uow()).balanced


def test_a_wallet_already_below_its_floor_pays_nothing_of_the_fare(world):
    rider = world.add_rider(50)
    postings = settled(world, ended(rider, 150), floor=100)
    assert postings == [("platform_revenue", 150), ("rider_receivable", -150)]
    assert (world.wallet(rider), world.debt(rider)) == (50, 150)


def test_a_free_ride_books_nothing_and_counts_as_clean(world):
    rider = world.add_rider(0)
    assert settled(world, ended(rider, 0)) == []
    assert world.credit_reasons(rider) == ["clean_ride"]


@pytest.mark.parametrize(
    ("credit_minor", "parking_violation", "unreturned", "reasons", "score"),
    [
        pytest.param(1000, True, False, ["parking_violation"], 590, id="badly parked"),
        pytest.param(
            0, True, False, ["parking_violation", "unpaid_fare"], 575, id="badly parked, unpaid"
        ),
        pytest.param(1000, False, True, ["unreturned_item"], 550, id="never returned"),
        pytest.param(
            0, False, True, ["unreturned_item", "unpaid_fare"], 535, id="never returned, unpaid"
        ),
    ],
)
def test_a_rental_that_ended_badly_costs_credit_and_is_no_clean_ride(
    world, credit_minor, parking_violation, unreturned, reasons, score
):
    rider = world.add_rider(credit_minor)
    rental = ended(rider, 150, unreturned=unreturned)
    settled(world, rental, parking_violation=parking_violation)
    assert world.credit_reasons(rider) == reasons
    assert world.score(rider) == score


def test_a_rental_settled_twice_is_charged_and_scored_once(world):
    rider = world.add_rider(1000)
    rental = ended(rider, 150)
    settled(world, rental)
    settled(world, rental)
    assert world.wallet(rider) == 850
    assert world.credit_reasons(rider) == ["clean_ride"]


def test_a_settlement_that_does_not_commit_leaves_no_trace(world):
    rider = world.add_rider(1000)
    unit = world.uow()
    with unit:
        settle(unit, ended(rider, 150), 0)
    assert world.wallet(rider) == 1000
    assert world.credit_reasons(rider) == []
    assert unit.notified == [] and world.store.notifications == []
