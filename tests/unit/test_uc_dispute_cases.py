"""A dispute as an operator judges it, in memory: the rider's history in counts (rides,
failed unlocks and parking fees of the last 30 days; disputes and refunds ever; account
age; credit score), the fare's lines, the route and where the ride was parked."""

import uuid
from datetime import timedelta

import pytest

from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import NotFound
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.rider_history import rider_history
from rental.domain.zones import Parking, ZoneKind
from rental.services import dispute_cases, disputes
from rental.services.commands.money import OpenDispute, ResolveDispute
from tests.unit.fakes.world import BIKE_PRICE, CURRENCY, HOME, NOW, World

# 0.07 degrees east of HOME: past the service area's edge (0.06 degrees).
OUTSIDE = (121.5437, 31.2304)


def rental(state: RentalState, days_ago: float, fee_minor: int = 0) -> Rental:
    at = NOW - timedelta(days=days_ago)
    return Rental(
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        "L-1",
        BIKE_PRICE,
        state,
        at,
        "scan-0001",
        failure_reason=FailureReason.TIMEOUT if state is RentalState.FAILED else None,
        out_of_zone_fee_minor=fee_minor,
    )


def dispute(state: DisputeState, refund_minor: int = 0) -> Dispute:
    return Dispute(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "wrong fare", state, refund_minor)


def test_the_history_counts_the_last_30_days_of_riding_and_every_dispute():
    rentals = [
        rental(RentalState.ENDED, 1),
        rental(RentalState.ENDED, 29.9, fee_minor=500),
        rental(RentalState.ENDED, 30.1, fee_minor=500),  # before the window
        rental(RentalState.FAILED, 2),
        rental(RentalState.FAILED, 45),  # before the window
        rental(RentalState.ACTIVE, 0),  # not finished: no ride yet
    ]
    opened = [
        dispute(DisputeState.REFUNDED, 150),
        dispute(DisputeState.REJECTED),
        dispute(DisputeState.OPEN),
    ]
    history = rider_history(
        rentals, opened, {"CNY": 150, "USD": 0}, NOW - timedelta(days=400, hours=1), 88, NOW
    )
    assert (history.window_days, history.rides, history.failed_unlocks) == (30, 2, 1)
    assert history.parking_fees == 1
    assert (
        history.disputes_opened,
        history.disputes_open,
        history.disputes_refunded,
        history.disputes_rejected,
    ) == (3, 1, 1, 1)
    assert history.refunded_minor == {"CNY": 150}  # no refund in a currency: not listed
    assert (history.account_age_days, history.credit_score) == (400, 88)


def test_a_new_rider_has_an_empty_history_and_an_unknown_join_is_no_age():
    history = rider_history([], [], {}, None, 100, NOW)
    assert (history.rides, history.disputes_opened, history.refunded_minor) == (0, 0, {})
    assert history.account_age_days is None


@pytest.fixture
def world() -> World:
    return World()


def open_and_resolve(world: World, rider, ride: Rental, refund_minor: int | None) -> Dispute:
    opened = disputes.open_dispute(
        world.uow(), OpenDispute(rider.id, ride.id, "the fare is wrong"), world.now
    )
    if refund_minor is None:
        return opened
    command = ResolveDispute(opened.id, refund_minor, "checked")
    return disputes.resolve_dispute(world.uow(), command, world.now, 0)


def test_a_riders_history_is_read_from_their_own_rides_and_disputes_only(world):
    rider, other = world.rider(credit_minor=5000), world.rider(credit_minor=5000)
    world.now = NOW + timedelta(days=60)  # the riders joined 60 days ago
    old = world.ride(rider, world.bike(), world.now - timedelta(days=40), minutes=10)
    parked_badly = world.ride(
        rider, world.bike(), world.now - timedelta(days=3), minutes=10, path=[HOME, OUTSIDE]
    )
    recent = world.ride(rider, world.bike(), world.now - timedelta(days=1), minutes=10)
    open_and_resolve(world, rider, old, 100)
    open_and_resolve(world, rider, parked_badly, 0)
    open_and_resolve(world, rider, recent, None)
    theirs = world.ride(other, world.bike(), world.now - timedelta(days=1), minutes=10)
    open_and_resolve(world, other, theirs, 250)

    history = dispute_cases.history_of(world.uow(), rider.id, world.now)
    assert (history.rides, history.failed_unlocks, history.parking_fees) == (2, 0, 1)
    assert (history.disputes_opened, history.disputes_refunded) == (3, 1)
    assert (history.disputes_rejected, history.disputes_open) == (1, 1)
    assert history.refunded_minor == {CURRENCY: 100}
    assert history.account_age_days == 60
    assert history.credit_score == world.score(rider)


def test_a_case_has_the_fare_lines_the_route_and_where_the_ride_was_parked(world):
    rider = world.rider(credit_minor=5000)
    ride = world.ride(rider, world.bike(), world.now, minutes=10, path=[HOME, OUTSIDE])
    opened = open_and_resolve(world, rider, ride, None)

    case = dispute_cases.dispute_case(world.uow(), opened.id, world.now + timedelta(hours=1))
    assert case.dispute.id == opened.id
    assert [line.kind for line in case.receipt.lines] == ["unlock", "riding", "parking_fee"]
    assert sum(line.amount_minor for line in case.receipt.lines) == case.receipt.total_minor
    assert case.route is not None and (case.route[0], case.route[-1]) == (HOME, OUTSIDE)
    parked = case.parked
    assert (parked.position, parked.parking) == (OUTSIDE, Parking.OUTSIDE_SERVICE_AREA)
    assert parked.inside_service_area is False and ZoneKind.SERVICE_AREA not in parked.zones
    assert case.history.parking_fees == 1 and case.history.disputes_open == 1


def test_an_unknown_dispute_is_not_found(world):
    with pytest.raises(NotFound) as missing:
        dispute_cases.dispute_case(world.uow(), uuid.uuid4(), world.now)
    assert missing.value.code == "dispute_not_found"
