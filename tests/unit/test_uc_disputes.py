"""Riders dispute a fare; operators refund it through the ledger, once, in memory."""

import uuid
from datetime import timedelta

import pytest

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.ledger import AccountKind
from rental.domain.rentals import Rental
from rental.domain.riders import User
from rental.services import disputes
from rental.services.commands.money import OpenDispute, ResolveDispute
from rental.services.commands.rides import RequestUnlock
from rental.services.rentals import Unlocking, request_unlock
from rental.services.wallet import charge_fare
from tests.unit.fakes import RecordingLockCommands
from tests.unit.fakes.world import CURRENCY, World

FARE = 100 + 150  # ten minutes: the unlock fee and one started half hour


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def ride(world):
    rider = world.rider(credit_minor=1000)
    rental = world.ride(rider, world.bike(), world.now, minutes=10)
    assert rental.fare_minor == FARE
    return rider, rental


def dispute_of(
    world: World, rider: User, rental: Rental, reason: str | None = "I was charged twice"
) -> Dispute:
    return disputes.open_dispute(
        world.uow(), OpenDispute(rider.id, rental.id, reason), world.now + timedelta(hours=1)
    )


def resolve(
    world: World, dispute: Dispute, refund_minor: int | None, note: str = "checked the trace"
) -> Dispute:
    command = ResolveDispute(dispute.id, refund_minor, note)
    return disputes.resolve_dispute(world.uow(), command, world.now + timedelta(hours=2), 0)


def test_a_rider_disputes_a_charged_ride_once_at_a_time(world, ride):
    rider, rental = ride
    dispute = dispute_of(world, rider, rental, "  the lock would not close  ")
    assert (dispute.state, dispute.reason, dispute.rental_id) == (
        DisputeState.OPEN,
        "the lock would not close",
        rental.id,
    )
    with pytest.raises(Conflict) as twice:
        dispute_of(world, rider, rental)
    assert twice.value.code == "dispute_open"
    assert [d.id for d in disputes.disputes_in_state(world.uow(), DisputeState.OPEN)] == [
        dispute.id
    ]


def test_another_riders_ride_is_not_found(world, ride):
    _, rental = ride
    with pytest.raises(NotFound) as missing:
        dispute_of(world, world.rider(), rental)
    assert missing.value.code == "rental_not_found"


def test_only_a_finished_charged_ride_can_be_disputed(world):
    rider = world.rider(credit_minor=1000)
    scan = RequestUnlock(rider.id, world.bike().code, "scan-0001")
    unlocking = request_unlock(
        world.uow(), RecordingLockCommands(), scan, world.now, Unlocking(timedelta(seconds=30))
    )
    with pytest.raises(Conflict) as refused:
        dispute_of(world, rider, unlocking)
    assert refused.value.code == "not_disputable"


@pytest.mark.parametrize("reason", [None, "no", "x" * 1001])
def test_a_dispute_needs_a_reason_of_a_few_words(world, ride, reason):
    rider, rental = ride
    with pytest.raises(InvalidInput) as refused:
        dispute_of(world, rider, rental, reason)
    assert refused.value.code == "invalid_reason"


def test_a_refund_goes_back_to_the_wallet_from_revenue_once(world, ride):
    rider, rental = ride
    dispute = dispute_of(world, rider, rental)
    revenue = world.platform_balance(AccountKind.PLATFORM_REVENUE)

    refunded = resolve(world, dispute, 150)
    again = resolve(world, dispute, 150)  # a retried request

    assert refunded.state is again.state is DisputeState.REFUNDED
    assert (refunded.refund_minor, refunded.note) == (150, "checked the trace")
    assert world.balance(rider) == 1000 - FARE + 150
    assert world.platform_balance(AccountKind.PLATFORM_REVENUE) == revenue - 150
    assert disputes.disputes_in_state(world.uow(), DisputeState.OPEN) == []
    assert [d.id for d in disputes.disputes_in_state(world.uow(), DisputeState.REFUNDED)] == [
        dispute.id
    ]


def test_a_resolved_dispute_cannot_be_resolved_otherwise(world, ride):
    rider, rental = ride
    dispute = dispute_of(world, rider, rental)
    resolve(world, dispute, 100)
    with pytest.raises(Conflict) as refused:
        resolve(world, dispute, 200)
    assert refused.value.code == "dispute_resolved"
    assert world.balance(rider) == 1000 - FARE + 100


def test_a_rejected_dispute_moves_no_money_and_a_new_one_may_follow(world, ride):
    rider, rental = ride
    rejected = resolve(world, dispute_of(world, rider, rental), 0, note="the ride was fine")
    assert rejected.state is DisputeState.REJECTED
    assert world.balance(rider) == 1000 - FARE
    assert dispute_of(world, rider, rental).state is DisputeState.OPEN


@pytest.mark.parametrize("refund", [-1, FARE - 99 + 1, None])
def test_no_more_than_the_fare_left_unrefunded_can_be_refunded(world, ride, refund):
    rider, rental = ride
    resolve(world, dispute_of(world, rider, rental), 99)
    second = dispute_of(world, rider, rental)
    with pytest.raises(InvalidInput) as refused:
        resolve(world, second, refund)
    assert refused.value.code == "invalid_refund"
    assert resolve(world, second, FARE - 99).refund_minor == FARE - 99  # the rest is fine


def test_a_refund_pays_the_riders_debt_first(world):
    rider = world.rider(credit_minor=100)
    rental = world.ride(rider, world.bike(), world.now, minutes=10)
    assert world.debt(rider) == FARE - 100
    with world.uow() as unit:
        charge_fare(unit, rider.id, CURRENCY, 50, "fare:more", wallet_floor_minor=0)
        unit.commit()
    resolve(world, dispute_of(world, rider, rental), 200)
    assert world.debt(rider) == 0
    assert world.balance(rider) == 200 - (FARE - 100) - 50


def test_an_unknown_dispute_is_not_found(world):
    with pytest.raises(NotFound) as missing:
        disputes.resolve_dispute(
            world.uow(), ResolveDispute(uuid.uuid4(), 10, "?"), world.now, wallet_floor_minor=0
        )
    assert missing.value.code == "dispute_not_found"
