"""Who can take what, on PostGIS: nearby search, reservations, damage, battery, silence."""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from rental.api.vehicles import nearby_search
from rental.bootstrap import utc_now
from rental.domain.errors import Conflict
from rental.domain.fleet import ServicePolicy
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.maintenance import DamageCategory
from rental.domain.rentals import FailureReason, RentalState
from rental.domain.reservations import ReservationState
from rental.services import maintenance, reservations, vehicles
from rental.services.commands.maintenance import CloseDamageReport, ReportDamage, UpdateAsset
from rental.services.commands.rides import CancelReservation, RequestUnlock, Reserve
from rental.services.rentals import Unlocking, request_unlock
from tests.conftest import new_lock_id
from tests.helpers import (
    BIKE_PRICE,
    RecordingLockCommands,
    ago,
    make_bike,
    make_city,
    make_user,
    rider_who_tried,
)

CITY = "holdcity"
PER_MINUTE = 10
HOLD = timedelta(minutes=15)
POLICY = ServicePolicy()
HERE = (121.4700, 31.2300)


@pytest.fixture(autouse=True)
def city(platform):
    make_city(platform, CITY, replace(BIKE_PRICE, reservation_per_minute_minor=PER_MINUTE))


def bike(platform, metres_east=0.0, battery=90, seen=None):
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=CITY)
    with platform.uow() as uow:
        uow.locks.record_seen(
            lock_id,
            seen or utc_now(),
            battery_pct=battery,
            lon=HERE[0] + metres_east / 95_300,  # metres to degrees of longitude at 31°N
            lat=HERE[1],
        )
        uow.commit()
    return asset


def nearby_codes(platform, **args):
    query = {"lon": str(HERE[0]), "lat": str(HERE[1]), **args}
    search = nearby_search(query)
    return [v.code for v in vehicles.nearby(platform.uow(), search, utc_now(), POLICY)]


def scan(platform, rider, asset, now=None):
    return request_unlock(
        platform.uow(),
        RecordingLockCommands(),
        RequestUnlock(rider.id, asset.code, uuid.uuid4().hex),
        now or utc_now(),
        Unlocking(timedelta(seconds=10), POLICY),
    )


def hold(platform, rider, asset, now=None):
    command = Reserve(rider.id, asset.code, uuid.uuid4().hex)
    return reservations.reserve(platform.uow(), command, now or utc_now(), HOLD, POLICY)


def wallet(platform, rider):
    with platform.uow() as uow:
        return uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))


def test_nearby_lists_available_vehicles_nearest_first_with_distance_and_price(platform):
    far, near, middle = bike(platform, 300), bike(platform, 20), bike(platform, 150)
    bike(platform, 900)  # outside the radius
    found = vehicles.nearby(
        platform.uow(),
        nearby_search({"lon": str(HERE[0]), "lat": str(HERE[1]), "radius_m": "500"}),
        utc_now(),
        POLICY,
    )
    assert [v.code for v in found] == [near.code, middle.code, far.code]
    assert found[0].distance_m == pytest.approx(20, abs=1)
    assert found[0].battery_pct == 90
    assert found[0].pricing_plan.tariff.rate_per_interval_minor == 150


def test_nearby_hides_what_riders_cannot_take(platform):
    visible = bike(platform, 10)
    in_ride, reserved, damaged = bike(platform, 20), bike(platform, 30), bike(platform, 40)
    low, silent, parked_off = bike(platform, 50, battery=5), bike(platform, 60), bike(platform, 70)
    with platform.uow() as uow:
        uow.locks.record_presence(silent.lock_id, True, 1, ago(3 * 3600))
        uow.connection.exec_driver_sql(
            "UPDATE locks SET last_seen_at = now() - interval '3 hours' WHERE id = %(id)s",
            {"id": silent.lock_id},
        )
        uow.commit()
    maintenance.update_asset(
        platform.uow(), UpdateAsset(parked_off.code, in_service=False), utc_now()
    )
    scan(platform, make_user(platform, credit_minor=1000), in_ride)
    hold(platform, make_user(platform), reserved)
    reporter = rider_who_tried(platform, damaged)
    maintenance.report_damage(
        platform.uow(),
        ReportDamage(reporter.id, damaged.code, DamageCategory.BRAKES, None, None),
        ago(1),
    )
    assert nearby_codes(platform) == [visible.code]
    assert low.code not in nearby_codes(platform)


def test_nearby_filters_by_kind_and_refuses_bad_queries(platform):
    bike(platform, 10)
    assert nearby_codes(platform, kind="power_bank") == []
    assert len(nearby_codes(platform, kind="bike,ebike")) == 1
    for bad in ({"lat": "91"}, {"radius_m": "0"}, {"kind": "car"}, {"lon": "east"}):
        with pytest.raises(ValidationError) as caught:
            nearby_codes(platform, **bad)
        assert [error["loc"] for error in caught.value.errors()] == [tuple(bad)]


def test_a_reserved_vehicle_refuses_other_riders_and_unlocks_for_its_holder(platform):
    asset = bike(platform)
    holder = make_user(platform, credit_minor=1000)
    reservation = hold(platform, holder, asset, now=ago(150))
    with pytest.raises(Conflict) as refused:
        scan(platform, make_user(platform, credit_minor=1000), asset)
    assert refused.value.code == "asset_reserved"

    rental = scan(platform, holder, asset)

    assert rental.state is RentalState.UNLOCKING
    with platform.uow() as uow:
        used = uow.reservations.get(reservation.id)
    assert used.state is ReservationState.USED
    assert used.rental_id == rental.id
    assert used.fee_minor == 3 * PER_MINUTE  # 2.5 minutes held: three started minutes
    assert wallet(platform, holder) == 1000 - 3 * PER_MINUTE


def test_a_reservation_expiring_while_another_rider_scans_lets_that_rider_ride(platform):
    asset = bike(platform)
    holder = make_user(platform, credit_minor=1000)
    reservation = hold(platform, holder, asset, now=ago(16 * 60))  # ran out a minute ago
    other = make_user(platform, credit_minor=1000)

    rental = scan(platform, other, asset)

    assert rental.state is RentalState.UNLOCKING
    with platform.uow() as uow:
        expired = uow.reservations.get(reservation.id)
    assert expired.state is ReservationState.EXPIRED
    assert expired.fee_minor == 15 * PER_MINUTE  # the whole hold, not a minute more
    assert wallet(platform, holder) == 1000 - 15 * PER_MINUTE


def test_the_sweeper_releases_expired_holds_once(platform):
    holder = make_user(platform, credit_minor=1000)
    reservation = hold(platform, holder, bike(platform), now=ago(20 * 60))
    assert reservations.expire_reservations(platform.uow(), utc_now()) == 1
    assert reservations.expire_reservations(platform.uow(), utc_now()) == 0
    with platform.uow() as uow:
        assert uow.reservations.get(reservation.id).state is ReservationState.EXPIRED
    assert wallet(platform, holder) == 1000 - 15 * PER_MINUTE


def test_a_rider_holds_one_reservation_at_a_time_and_a_repeat_returns_the_first(platform):
    rider = make_user(platform, credit_minor=1000)
    first_bike, second_bike = bike(platform), bike(platform, 10)
    key = uuid.uuid4().hex
    command = Reserve(rider.id, first_bike.code, key)
    first = reservations.reserve(platform.uow(), command, utc_now(), HOLD, POLICY)
    again = reservations.reserve(platform.uow(), command, utc_now(), HOLD, POLICY)
    assert again.id == first.id
    with pytest.raises(Conflict) as refused:
        hold(platform, rider, second_bike)
    assert refused.value.code == "reservation_held"


def test_cancelling_charges_the_minutes_held_and_a_repeat_changes_nothing(platform):
    rider = make_user(platform, credit_minor=1000)
    reservation = hold(platform, rider, bike(platform), now=ago(61))
    command = CancelReservation(rider.id, reservation.id)
    cancelled = reservations.cancel(platform.uow(), command, utc_now())
    again = reservations.cancel(platform.uow(), command, utc_now())
    assert cancelled.state is again.state is ReservationState.CANCELLED
    assert cancelled.fee_minor == again.fee_minor == 2 * PER_MINUTE
    assert wallet(platform, rider) == 1000 - 2 * PER_MINUTE


def test_an_open_damage_report_takes_the_bike_out_until_an_operator_closes_it(platform):
    asset = bike(platform)
    reporter, operator = rider_who_tried(platform, asset), make_user(platform)
    report, new = maintenance.report_damage(
        platform.uow(),
        ReportDamage(reporter.id, asset.code, DamageCategory.BRAKES, None, None),
        utc_now(),
    )
    repeat, repeated_new = maintenance.report_damage(
        platform.uow(),
        ReportDamage(reporter.id, asset.code, DamageCategory.TYRE, None, None),
        utc_now(),
    )
    assert new and not repeated_new and repeat.id == report.id
    with pytest.raises(Conflict) as refused:
        scan(platform, make_user(platform, credit_minor=1000), asset)
    assert refused.value.code == "asset_out_of_service"

    closing = CloseDamageReport(operator.id, report.id, "brakes adjusted")
    maintenance.close_report(platform.uow(), closing, utc_now())

    assert nearby_codes(platform) == [asset.code]


def test_a_low_battery_refuses_the_scan_and_a_silent_lock_fails_at_once(platform):
    low = bike(platform, battery=POLICY.low_battery_pct - 1)
    with pytest.raises(Conflict) as refused:
        scan(platform, make_user(platform, credit_minor=1000), low)
    assert refused.value.code == "battery_low"

    silent = bike(platform, 10)
    later = utc_now() + POLICY.silence + timedelta(minutes=1)
    rental = scan(platform, make_user(platform, credit_minor=1000), silent, now=later)
    assert rental.state is RentalState.FAILED
    assert rental.failure_reason is FailureReason.LOCK_OFFLINE


def test_riding_another_vehicle_ends_the_riders_hold_on_the_first(platform):
    held_bike, other_bike = bike(platform), bike(platform, 10)
    rider = make_user(platform, credit_minor=1000)
    reservation = hold(platform, rider, held_bike, now=ago(90))

    scan(platform, rider, other_bike)

    with platform.uow() as uow:
        ended = uow.reservations.get(reservation.id)
    assert ended.state is ReservationState.CANCELLED
    assert ended.fee_minor == 2 * PER_MINUTE
    assert nearby_codes(platform) == [held_bike.code]


def test_a_rider_who_could_not_ride_cannot_hold_either(platform):
    asset = bike(platform)
    with platform.uow() as uow:
        price = replace(BIKE_PRICE, reservation_per_minute_minor=PER_MINUTE)
        uow.pricing_plans.publish(CITY, "bike", price, deposit_minor=9900)
        uow.commit()
    with pytest.raises(Conflict) as refused:
        hold(platform, make_user(platform, credit_minor=1000), asset)
    assert refused.value.code == "deposit_required"
    assert nearby_codes(platform) == [asset.code]
