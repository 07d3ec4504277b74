"""Riders reserve a vehicle for a few minutes before they reach it, in memory: one at a time,
hidden from others, charged per started minute when it ends, its whole length when it
runs out."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from rental.domain.errors import Conflict, LimitReached, NotFound
from rental.domain.fair_use import DEFAULT_HOLD_RULES, HoldRules
from rental.domain.fleet import Asset, ServicePolicy
from rental.domain.mds import VehicleEvent
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.riders import User
from rental.services import reservations, vehicles
from rental.services.commands.assets import SearchNearby
from rental.services.commands.rides import CancelReservation, Reserve
from rental.services.wallet import charge_fare
from tests.unit.fakes.world import BIKE_PRICE, CURRENCY, HOME, World

POLICY = ServicePolicy()
HOLD = timedelta(minutes=15)
PER_MINUTE = BIKE_PRICE.reservation_per_minute_minor


@pytest.fixture
def world() -> World:
    return World()


def hold(
    world: World,
    rider: User,
    asset: Asset,
    at: datetime | None = None,
    key: str = "hold-0001",
    floor: int = 0,
) -> Reservation:
    command = Reserve(rider.id, asset.code, key)
    return reservations.reserve(world.uow(), command, at or world.now, HOLD, POLICY, floor)


def refused(world: World, rider: User, asset: Asset, key: str = "hold-0002") -> str:
    with pytest.raises(Conflict) as refusal:
        hold(world, rider, asset, key=key)
    return refusal.value.code


def cancel(
    world: World, rider: User, reservation: Reservation, at: datetime, floor: int = 0
) -> Reservation:
    command = CancelReservation(rider.id, reservation.id)
    return reservations.cancel(world.uow(), command, at, floor)


def offered(world: World) -> list[str]:
    search = SearchNearby(*HOME, radius_m=500, kinds=None, limit=10)
    return [v.code for v in vehicles.nearby(world.uow(), search, world.now, POLICY)]


def history(world: World, asset: Asset) -> list[tuple[VehicleEvent, datetime]]:
    return [
        (VehicleEvent(e.kind), e.at) for e in world.store.vehicle_events if e.asset_id == asset.id
    ]


def test_a_reserved_vehicle_is_held_for_its_rider_and_hidden_from_others(world):
    bike, rider = world.bike(), world.rider()
    reservation = hold(world, rider, bike)
    assert (reservation.state, reservation.asset_id, reservation.expires_at) == (
        ReservationState.HELD,
        bike.id,
        world.now + HOLD,
    )
    assert reservation.tariff == BIKE_PRICE
    assert offered(world) == []
    assert reservations.current_of_rider(world.uow(), rider.id, world.now) == reservation
    assert history(world, bike) == [(VehicleEvent.RESERVATION_START, world.now)]


def test_a_repeated_request_answers_the_first_reservation(world):
    bike, rider = world.bike(), world.rider()
    first = hold(world, rider, bike)
    assert hold(world, rider, bike, at=world.now + timedelta(seconds=5)) == first
    assert len(world.store.reservations) == 1


def test_a_rider_holds_one_reservation_and_a_vehicle_has_one_holder(world):
    rider, other = world.rider(), world.rider()
    bike = world.bike()
    hold(world, rider, bike)
    assert refused(world, rider, bike) == "asset_reserved"  # reserved by this rider already
    assert refused(world, rider, world.bike()) == "reservation_held"
    assert refused(world, other, bike) == "asset_reserved"


def test_a_vehicle_in_use_or_out_of_reach_cannot_be_reserved(world):
    rider = world.rider()
    ridden = world.bike()
    world.scan(world.rider(credit_minor=1000), ridden)
    assert refused(world, rider, ridden) == "asset_in_use"
    silent = world.bike(seen=world.now - POLICY.silence - timedelta(seconds=1))
    assert refused(world, rider, silent) == "lock_offline"
    assert world.store.reservations == {}


def test_a_rider_who_could_not_ride_cannot_reserve_either(world):
    world.publish("bike", BIKE_PRICE, deposit_minor=9_900)
    bike = world.bike()
    assert refused(world, world.rider(credit_minor=1000), bike) == "deposit_required"
    assert refused(world, world.rider(), world.bike(battery=5)) == "battery_low"
    assert offered(world) == [bike.code]


def test_cancelling_charges_each_started_minute_and_a_repeat_changes_nothing(world):
    rider = world.rider(credit_minor=1000)
    bike = world.bike()
    reservation = hold(world, rider, bike)
    cancelled = cancel(world, rider, reservation, world.now + timedelta(seconds=61))
    again = cancel(world, rider, reservation, world.now + timedelta(minutes=5))
    assert cancelled.state is again.state is ReservationState.CANCELLED
    assert cancelled.fee_minor == again.fee_minor == 2 * PER_MINUTE
    assert world.balance(rider) == 1000 - 2 * PER_MINUTE
    assert offered(world) == [bike.code]
    assert history(world, bike)[-1] == (
        VehicleEvent.RESERVATION_END,
        world.now + timedelta(seconds=61),
    )


def test_cancelling_after_it_ran_out_charges_its_whole_length(world):
    rider = world.rider(credit_minor=1000)
    reservation = hold(world, rider, world.bike())
    ended = cancel(world, rider, reservation, world.now + HOLD + timedelta(minutes=3))
    assert (ended.state, ended.ended_at) == (ReservationState.EXPIRED, world.now + HOLD)
    assert ended.fee_minor == 15 * PER_MINUTE


def test_a_charge_the_wallet_cannot_cover_becomes_debt_down_to_the_floor(world):
    rider = world.rider(credit_minor=50)
    reservation = hold(world, rider, world.bike(), floor=20)
    cancel(world, rider, reservation, world.now + timedelta(minutes=5), floor=20)
    # 50 CNY fen in the wallet, 20 of them kept by the floor: 30 paid, the rest owed.
    assert (world.balance(rider), world.debt(rider)) == (20, 5 * PER_MINUTE - 30)


def test_another_riders_reservation_is_not_found(world):
    rider, other = world.rider(), world.rider()
    reservation = hold(world, rider, world.bike())
    calls: list[Callable[[], Reservation]] = [
        lambda: cancel(world, other, reservation, world.now),
        lambda: reservations.reservation_of_rider(world.uow(), other.id, reservation.id),
        lambda: reservations.reservation_of_rider(world.uow(), rider.id, uuid.uuid4()),
    ]
    for call in calls:
        with pytest.raises(NotFound) as hidden:
            call()
        assert hidden.value.code == "reservation_not_found"
    assert reservations.reservation_of_rider(world.uow(), rider.id, reservation.id) == reservation


def test_a_rider_without_a_live_reservation_has_no_current_one(world):
    rider = world.rider()
    with pytest.raises(NotFound):
        reservations.current_of_rider(world.uow(), rider.id, world.now)
    hold(world, rider, world.bike())
    with pytest.raises(NotFound) as ran_out:
        reservations.current_of_rider(world.uow(), rider.id, world.now + HOLD)
    assert ran_out.value.code == "reservation_not_found"


def test_the_sweeper_ends_reservations_that_ran_out_once_as_of_when_they_did(world):
    rider, later_rider = world.rider(credit_minor=1000), world.rider(credit_minor=1000)
    bike = world.bike()
    reservation = hold(world, rider, bike, at=world.now - timedelta(minutes=20))
    young = hold(world, later_rider, world.bike(), at=world.now - timedelta(minutes=5))

    assert reservations.expire_reservations(world.uow(), world.now) == 1
    assert reservations.expire_reservations(world.uow(), world.now) == 0

    expired = world.store.reservations[reservation.id]
    assert (expired.state, expired.fee_minor) == (ReservationState.EXPIRED, 15 * PER_MINUTE)
    assert world.store.reservations[young.id].state is ReservationState.HELD
    assert world.balance(rider) == 1000 - 15 * PER_MINUTE
    assert history(world, bike)[-1] == (
        VehicleEvent.RESERVATION_END,
        world.now - timedelta(minutes=5),  # when it ran out, not when it was swept
    )


def test_a_riders_own_reservation_that_ran_out_ends_when_they_reserve_again(world):
    rider = world.rider(credit_minor=1000)
    first = hold(world, rider, world.bike(), at=world.now - timedelta(minutes=16))
    second = hold(world, rider, world.bike(), key="hold-0002")
    assert second.state is ReservationState.HELD
    assert world.store.reservations[first.id].state is ReservationState.EXPIRED
    assert world.balance(rider) == 1000 - 15 * PER_MINUTE


def test_a_rider_in_debt_cannot_reserve(world):
    rider = world.rider(credit_minor=1000)
    with world.uow() as unit:
        charge_fare(unit, rider.id, CURRENCY, 200, "fare:earlier", wallet_floor_minor=900)
        unit.commit()
    assert world.debt(rider) == 100
    assert refused(world, rider, world.bike()) == "debt_outstanding"


# --- fair use: holds pause after repeated cancels ---------------------------------------

# These tests span hours: the locks' heartbeats are taken as heard all along.
HEARD = ServicePolicy(silence=timedelta(days=1))


def held(
    world: World,
    rider: User,
    bike: Asset,
    at: datetime,
    key: str,
    rules: HoldRules = DEFAULT_HOLD_RULES,
) -> Reservation:
    command = Reserve(rider.id, bike.code, key)
    return reservations.reserve(world.uow(), command, at, HOLD, HEARD, 0, rules)


def hold_and_cancel(world: World, rider: User, bike: Asset, at: datetime, key: str) -> None:
    cancel(world, rider, held(world, rider, bike, at, key), at + timedelta(minutes=1))


def paused(world: World, rider: User, bike: Asset, at: datetime, key: str) -> LimitReached:
    with pytest.raises(LimitReached) as refusal:
        held(world, rider, bike, at, key)
    assert refusal.value.code == "hold_cool_down"
    return refusal.value


def test_three_cancelled_holds_within_an_hour_pause_holds_for_half_an_hour(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    start = world.now
    for n, minutes in enumerate((0, 20, 40)):
        hold_and_cancel(world, rider, bike, start + timedelta(minutes=minutes), f"hold-{n:04d}")
    last_cancel = start + timedelta(minutes=41)

    refusal = paused(world, rider, bike, last_cancel + timedelta(minutes=10), "hold-0010")
    assert refusal.retry_at == last_cancel + timedelta(minutes=30)
    assert refusal.retry_after_seconds == 20 * 60
    assert "in 20 minutes" in refusal.message
    paused(world, rider, bike, last_cancel + timedelta(minutes=29), "hold-0011")
    assert world.store.hold_of(rider.id) is None  # nothing was held meanwhile
    # Scans are not paused: the rider can still ride.
    world.now = last_cancel + timedelta(minutes=29)
    assert world.scan(world.rider(), world.bike()).unlock_command_id is not None

    again = held(world, rider, bike, last_cancel + timedelta(minutes=30), "hold-0012")
    assert again.state is ReservationState.HELD


def test_a_retried_hold_request_is_answered_during_a_pause(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    for n, minutes in enumerate((0, 10)):
        hold_and_cancel(world, rider, bike, world.now + timedelta(minutes=minutes), f"c{n}")
    third_at = world.now + timedelta(minutes=20)
    third = held(world, rider, bike, third_at, "hold-third")
    cancel(world, rider, third, third_at + timedelta(minutes=1))

    paused(world, rider, bike, third_at + timedelta(minutes=2), "hold-new")
    retried = held(world, rider, bike, third_at + timedelta(minutes=2), "hold-third")
    assert (retried.id, retried.state) == (third.id, ReservationState.CANCELLED)


def test_cancels_spread_over_more_than_an_hour_do_not_pause_holds(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    for n, minutes in enumerate((0, 31, 61)):  # cancelled at 1, 32 and 62 minutes
        hold_and_cancel(world, rider, bike, world.now + timedelta(minutes=minutes), f"h{n}")
    later = held(world, rider, bike, world.now + timedelta(minutes=63), "hold-0009")
    assert later.state is ReservationState.HELD


def test_holds_that_ran_out_or_gave_way_to_a_ride_do_not_count_as_cancels(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    start = world.now
    for n in range(3):  # each runs its whole length (charged for it) before the next
        held(world, rider, bike, start + n * HOLD, f"ran-out-{n}")
        reservations.expire_reservations(world.uow(), start + (n + 1) * HOLD)
    hold_and_cancel(world, rider, bike, start + 3 * HOLD, "cancelled-0")
    # Held, then the rider rode another bike: the hold names that rental.
    given_way = held(world, rider, bike, start + 3 * HOLD + timedelta(minutes=2), "gave")
    world.now = start + 3 * HOLD + timedelta(minutes=3)
    ride = world.scan(rider, world.bike())
    gave = world.store.reservations[given_way.id]
    assert (gave.state, gave.rental_id) == (ReservationState.CANCELLED, ride.id)
    hold_and_cancel(world, rider, bike, world.now, "cancelled-1")

    last = held(world, rider, bike, world.now + timedelta(minutes=2), "last")
    assert last.state is ReservationState.HELD


def test_the_pause_is_a_setting(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    strict = HoldRules(cancels=1, within=timedelta(hours=1), pause=timedelta(minutes=5))
    hold_and_cancel(world, rider, bike, world.now, "hold-0001")
    cancelled_at = world.now + timedelta(minutes=1)
    with pytest.raises(LimitReached) as refusal:
        held(world, rider, bike, cancelled_at, "hold-0002", strict)
    assert refusal.value.retry_at == cancelled_at + timedelta(minutes=5)
    assert held(world, rider, bike, cancelled_at, "hold-0003").state is ReservationState.HELD
