"""Scan to unlock, in memory: the signed command, idempotency, every reason a scan is
refused, the reservation a scan uses or ends, unlocks left unanswered, and what riders
read of their rentals."""

import json
import uuid
from datetime import datetime, timedelta

import pytest

from rental.domain.cities import City
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import Asset, AssetKind, ServicePolicy
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account
from rental.domain.maintenance import DamageCategory
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.riders import User
from rental.services import maintenance, rentals, reservations
from rental.services.commands.maintenance import ReportDamage, UpdateAsset
from rental.services.commands.rides import RequestUnlock, Reserve
from rental.services.lock_commands import LockCommand, Release, Unlock
from rental.services.repositories.rides import LockFix
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.wallet import charge_fare
from tests.unit.fakes import RecordingLockCommands, SentUnlock
from tests.unit.fakes.world import BIKE_PRICE, CURRENCY, HOME, World

POLICY = ServicePolicy()
TIMEOUT = timedelta(seconds=30)
UNLOCKING = rentals.Unlocking(TIMEOUT, POLICY)
PER_MINUTE = BIKE_PRICE.reservation_per_minute_minor
HOLD = timedelta(minutes=15)


@pytest.fixture
def world() -> World:
    return World()


class Sending(RecordingLockCommands):
    """Keeps the commands themselves too, to check what was signed."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__(fail=fail)
        self.commands: list[Unlock | Release] = []

    def send(self, command: LockCommand) -> None:
        super().send(command)
        assert isinstance(command, Unlock | Release)
        self.commands.append(command)


def scan(
    world: World,
    rider: User,
    asset: Asset,
    *,
    key: str = "scan-0001",
    locks: RecordingLockCommands | None = None,
    at: datetime | None = None,
) -> Rental:
    command = RequestUnlock(rider.id, asset.code, key)
    sent = locks if locks is not None else RecordingLockCommands()
    return rentals.request_unlock(world.uow(), sent, command, at or world.now, UNLOCKING)


def refused(world: World, rider: User, asset: Asset, key: str = "scan-0001") -> str:
    """The code a scan is refused with; the scan must have stored and sent nothing."""
    locks = RecordingLockCommands()
    with pytest.raises(Conflict) as refusal:
        scan(world, rider, asset, locks=locks, key=key)
    assert locks.sent == []
    assert all(row.rental.rider_id != rider.id for row in world.store.rentals.values())
    return refusal.value.code


def hold(world: World, rider: User, asset: Asset, at: datetime | None = None) -> Reservation:
    command = Reserve(rider.id, asset.code, "hold-0001")
    return reservations.reserve(world.uow(), command, at or world.now, HOLD, POLICY)


def stored(world: World, rental: Rental) -> Rental:
    with world.uow() as unit:
        found = unit.rentals.get(rental.id)
    assert found is not None
    return found


# --- the scan -------------------------------------------------------------------------


def test_a_scan_records_the_rental_and_sends_the_locks_signed_unlock(world):
    bike, rider = world.bike(), world.rider(credit_minor=1000)
    locks = Sending()

    rental = scan(world, rider, bike, locks=locks)

    assert (rental.state, rental.rider_id, rental.asset_id) == (
        RentalState.UNLOCKING,
        rider.id,
        bike.id,
    )
    assert rental.tariff == BIKE_PRICE and rental.plan_id is not None
    assert rental.unlock_expires_at == world.now + TIMEOUT
    assert locks.sent == [
        SentUnlock(
            bike.lock_id or "", rental.id, rental.unlock_command_id, None, rental.unlock_expires_at
        )
    ]
    [command] = locks.commands
    assert isinstance(command, Unlock) and command.signing_key == b"k" * 32
    assert command.issued_at == world.now
    assert stored(world, rental) == rental
    assert world.balance(rider) == 1000  # nothing is charged before the lock opens


def test_a_repeated_scan_answers_the_first_rental_and_sends_nothing_more(world):
    bike, rider = world.bike(), world.rider(credit_minor=1000)
    locks = RecordingLockCommands()
    first = scan(world, rider, bike, locks=locks)
    again = scan(world, rider, bike, locks=locks, at=world.now + timedelta(seconds=2))
    assert again == first
    assert len(locks.sent) == 1
    assert len(world.store.rentals) == 1


def test_a_rider_rides_one_asset_at_a_time_and_an_asset_has_one_rider(world):
    rider, other = world.rider(credit_minor=1000), world.rider(credit_minor=1000)
    bike, second = world.bike(), world.bike()
    scan(world, rider, bike)
    assert refused(world, other, bike, key="scan-0002") == "asset_in_use"
    locks = RecordingLockCommands()
    with pytest.raises(Conflict) as busy:
        scan(world, rider, second, key="scan-0003", locks=locks)
    assert busy.value.code == "rental_in_progress" and locks.sent == []


def take_out_of_service(world: World, bike: Asset) -> None:
    maintenance.update_asset(world.uow(), UpdateAsset(bike.code, in_service=False), world.now)


def report_damage(world: World, bike: Asset) -> None:
    reporter = world.rider_who_rode(bike)
    command = ReportDamage(reporter.id, bike.code, DamageCategory.BRAKES, None, None)
    maintenance.report_damage(world.uow(), command, world.now)


def reserve_for_someone_else(world: World, bike: Asset) -> None:
    hold(world, world.rider(), bike)


def owe(world: World, rider: User) -> None:
    with world.uow() as unit:
        charge_fare(unit, rider.id, CURRENCY, 1500, "fare:old", wallet_floor_minor=0)
        unit.commit()


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (take_out_of_service, "asset_out_of_service"),
        (report_damage, "asset_out_of_service"),
        (reserve_for_someone_else, "asset_reserved"),
    ],
    ids=["out of service", "damaged", "reserved"],
)
def test_a_scan_is_refused_for_each_reason_riders_cannot_take_the_asset(world, make, code):
    bike = world.bike()
    make(world, bike)
    assert refused(world, world.rider(credit_minor=1000), bike) == code


def test_a_scan_is_refused_a_low_battery_an_open_latch_and_a_missing_price(world):
    rider = world.rider(credit_minor=1000)
    assert refused(world, rider, world.bike(battery=POLICY.low_battery_pct - 1)) == "battery_low"
    assert refused(world, rider, world.bike(locked=False)) == "latch_open"
    assert refused(world, rider, world.bike(kind=AssetKind.EBIKE)) == "no_pricing_plan"


def test_a_rider_in_debt_settles_it_before_riding(world):
    rider = world.rider(credit_minor=500)
    owe(world, rider)
    with pytest.raises(Conflict) as refusal:
        scan(world, rider, world.bike())
    assert refusal.value.code == "debt_outstanding"
    assert "10.00" in refusal.value.message  # 15.00 owed, 5.00 paid from the wallet


@pytest.mark.parametrize(
    ("score", "held", "allowed"),
    [(600, 0, False), (600, 9_900, True), (699, 0, False), (700, 0, True)],
    ids=["nothing held", "held", "score below the waiver", "waived by the score"],
)
def test_a_deposit_is_needed_unless_held_or_waived_by_the_score(world, score, held, allowed):
    world.publish("bike", BIKE_PRICE, deposit_minor=9_900, deposit_waiver_score=700)
    rider = world.rider(credit_minor=1000, score=score)
    if held:
        with world.uow() as unit:
            deposit = rider_account(AccountKind.RIDER_DEPOSIT, str(rider.id), CURRENCY)
            clearing = AccountRef(AccountKind.GATEWAY_CLEARING, CURRENCY)
            unit.ledger.post("deposit", "d:1", [Posting(clearing, -held), Posting(deposit, held)])
            unit.commit()
    bike = world.bike()
    if allowed:
        assert scan(world, rider, bike).state is RentalState.UNLOCKING
    else:
        with pytest.raises(Conflict) as refusal:
            scan(world, rider, bike)
        assert refusal.value.code == "deposit_required"
        assert "a credit score of 700 waives it" in refusal.value.message


@pytest.mark.parametrize(
    ("online", "quiet"),
    [(False, timedelta(0)), (True, POLICY.silence + timedelta(seconds=1))],
    ids=["disconnected", "silent"],
)
def test_a_lock_out_of_reach_fails_the_rental_at_once_and_sends_nothing(world, online, quiet):
    bike = world.bike(online=online, seen=world.now - quiet)
    rider = world.rider(credit_minor=1000)
    locks = RecordingLockCommands()
    rental = scan(world, rider, bike, locks=locks)
    assert (rental.state, rental.failure_reason) == (RentalState.FAILED, FailureReason.LOCK_OFFLINE)
    assert rental.unlock_command_id is None and locks.sent == []
    assert world.balance(rider) == 1000
    assert scan(world, rider, bike).id == rental.id  # a retry answers the failed rental


def test_a_broker_that_is_down_fails_the_rental_and_tells_the_app(world):
    rider = world.rider(credit_minor=1000)
    unit = world.uow()
    command = RequestUnlock(rider.id, world.bike().code, "scan-0001")
    rental = rentals.request_unlock(
        unit, RecordingLockCommands(fail=True), command, world.now, UNLOCKING
    )
    assert (rental.state, rental.failure_reason) == (
        RentalState.FAILED,
        FailureReason.LOCK_UNREACHABLE,
    )
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(rental.id))]
    assert stored(world, rental).state is RentalState.FAILED


def test_a_bike_whose_latch_is_unknown_may_still_be_scanned(world):
    bike = world.bike()
    with world.uow() as unit:
        assert bike.lock_id is not None
        unit.locks.mark_latch_unknown(bike.lock_id, world.now - timedelta(minutes=1))
        unit.commit()
    # The lock itself refuses an unlock while its latch is open (lock protocol §5.4).
    assert scan(world, world.rider(credit_minor=1000), bike).state is RentalState.UNLOCKING


def test_an_unknown_code_is_not_found_and_an_item_out_of_its_cabinet_is_not_docked(world):
    rider = world.rider(credit_minor=1000)
    gone = RequestUnlock(rider.id, "BK-gone", "scan-0001")
    with pytest.raises(NotFound) as missing:
        rentals.request_unlock(world.uow(), RecordingLockCommands(), gone, world.now, UNLOCKING)
    assert missing.value.code == "asset_not_found"
    umbrella = world.item(world.cabinet(), 1)
    with world.uow() as unit:
        unit.assets.dock(umbrella.id, None, None)
        unit.commit()
    assert refused(world, rider, umbrella) == "item_not_docked"


def test_an_item_is_released_from_its_slot_by_its_cabinet(world):
    cabinet = world.cabinet(AssetKind.POWER_BANK, slots=6)
    bank = world.item(cabinet, 4)
    locks = Sending()
    rental = scan(world, world.rider(credit_minor=1000), bank, locks=locks)
    [command] = locks.commands
    assert isinstance(command, Release)
    assert (command.lock_id, command.slot, command.rental_id) == (cabinet.lock_id, 4, rental.id)
    assert rental.slot == 4 and rental.lock_id == cabinet.lock_id


# --- reservations meeting a scan ------------------------------------------------------


def test_the_holder_scans_the_reserved_bike_and_pays_each_started_minute(world):
    bike, holder = world.bike(), world.rider(credit_minor=1000)
    reservation = hold(world, holder, bike, at=world.now - timedelta(seconds=150))
    assert refused(world, world.rider(credit_minor=1000), bike) == "asset_reserved"

    rental = scan(world, holder, bike)

    assert rental.state is RentalState.UNLOCKING
    used = world.store.reservations[reservation.id]
    assert (used.state, used.rental_id) == (ReservationState.USED, rental.id)
    assert used.fee_minor == 3 * PER_MINUTE  # 2.5 minutes: three started minutes
    assert world.balance(holder) == 1000 - 3 * PER_MINUTE
    # Its end is the ride's start (logged when the lock opens), not a reservation's end.
    history = [event.kind for event in world.store.vehicle_events if event.asset_id == bike.id]
    assert history == ["reservation_start"]


def test_a_reservation_that_ran_out_lets_another_rider_ride_and_costs_its_whole_length(world):
    bike, holder = world.bike(), world.rider(credit_minor=1000)
    reservation = hold(world, holder, bike, at=world.now - HOLD - timedelta(minutes=1))
    assert scan(world, world.rider(credit_minor=1000), bike).state is RentalState.UNLOCKING
    expired = world.store.reservations[reservation.id]
    assert (expired.state, expired.fee_minor) == (ReservationState.EXPIRED, 15 * PER_MINUTE)
    assert world.balance(holder) == 1000 - 15 * PER_MINUTE


def test_riding_another_bike_ends_the_riders_reservation_of_the_first(world):
    held_bike, other_bike = world.bike(), world.bike()
    rider = world.rider(credit_minor=1000)
    reservation = hold(world, rider, held_bike, at=world.now - timedelta(seconds=90))
    scan(world, rider, other_bike)
    ended = world.store.reservations[reservation.id]
    assert (ended.state, ended.fee_minor) == (ReservationState.CANCELLED, 2 * PER_MINUTE)


def test_a_reservation_is_free_when_its_bike_could_not_be_reached(world):
    bike = world.bike(seen=world.now - timedelta(minutes=34))
    rider = world.rider(credit_minor=1000)
    reservation = hold(world, rider, bike)
    later = world.now + timedelta(minutes=2)  # the lock has gone silent meanwhile
    rental = scan(world, rider, bike, at=later)
    assert rental.failure_reason is FailureReason.LOCK_OFFLINE
    ended = world.store.reservations[reservation.id]
    assert (ended.state, ended.fee_minor, ended.rental_id) == (
        ReservationState.CANCELLED,
        0,
        rental.id,
    )
    assert world.balance(rider) == 1000


# --- unlocks left unanswered ----------------------------------------------------------


def test_unlocks_left_unanswered_fail_free_and_hide_the_bike_until_its_lock_reports(world):
    rider, late_rider = world.rider(credit_minor=1000), world.rider(credit_minor=1000)
    bike, fresh = world.bike(), world.bike()
    timed_out = scan(world, rider, bike)
    young = scan(world, late_rider, fresh, at=world.now + timedelta(seconds=20))
    unit = world.uow()
    grace = timedelta(seconds=2)

    failed = rentals.fail_unanswered_unlocks(
        unit, world.now + TIMEOUT + timedelta(seconds=3), grace
    )

    assert failed == [timed_out.id]
    assert stored(world, timed_out).failure_reason is FailureReason.TIMEOUT
    assert stored(world, young).state is RentalState.UNLOCKING
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(timed_out.id))]
    assert world.store.locks[bike.lock_id or ""].lock.latch_unknown_since == world.now
    assert world.store.locks[fresh.lock_id or ""].lock.latch_unknown_since is None
    assert world.balance(rider) == 1000


def test_an_unanswered_release_leaves_the_cabinet_in_sight(world):
    cabinet = world.cabinet()
    rental = scan(world, world.rider(credit_minor=1000), world.item(cabinet, 1))
    later = world.now + TIMEOUT + timedelta(seconds=3)
    assert rentals.fail_unanswered_unlocks(world.uow(), later, timedelta(seconds=2)) == [rental.id]
    assert world.store.locks[cabinet.lock_id].lock.latch_unknown_since is None


# --- what riders read -----------------------------------------------------------------


def berlin_bike(world: World) -> Asset:
    with world.uow() as unit:
        unit.cities.add(City("berlin", "Berlin", "Europe/Berlin", CURRENCY, "de-DE", *HOME))
        unit.commit()
    world.publish("bike", BIKE_PRICE, city_id="berlin")
    return world.bike(city_id="berlin")


def test_a_scan_is_answered_on_its_citys_clock_and_so_is_its_repeat(world):
    rider, bike = world.rider(credit_minor=5000), berlin_bike(world)
    command = RequestUnlock(rider.id, bike.code, "scan-berlin")
    locks = RecordingLockCommands()

    first = rentals.request_unlock_shown(world.uow(), locks, command, world.now, UNLOCKING)
    again = rentals.request_unlock_shown(world.uow(), locks, command, world.now, UNLOCKING)

    assert (first.rental.state, first.time_zone) == (RentalState.UNLOCKING, "Europe/Berlin")
    assert (again.rental.id, again.time_zone) == (first.rental.id, "Europe/Berlin")
    assert len(locks.sent) == 1


def test_a_rider_is_shown_only_their_own_rental_on_its_citys_clock(world):
    rider, other = world.rider(credit_minor=5000), world.rider()
    bike = berlin_bike(world)
    rental = scan(world, rider, bike)

    shown = rentals.rental_shown_to_rider(world.uow(), rider.id, rental.id)
    with pytest.raises(NotFound) as hidden:
        rentals.rental_shown_to_rider(world.uow(), other.id, rental.id)

    assert (shown.rental.id, shown.time_zone) == (rental.id, "Europe/Berlin")
    assert hidden.value.code == "rental_not_found"


def test_a_rider_reads_only_their_own_rentals_newest_first(world):
    rider, other = world.rider(credit_minor=5000), world.rider()
    bike = world.bike()
    first = world.ride(rider, bike, world.now, minutes=10)
    second = world.ride(rider, bike, world.now + timedelta(minutes=20), minutes=10)
    assert rentals.rental_of_rider(world.uow(), rider.id, first.id).id == first.id
    with pytest.raises(NotFound) as hidden:
        rentals.rental_of_rider(world.uow(), other.id, first.id)
    assert hidden.value.code == "rental_not_found"

    listed = rentals.rentals_of_rider(world.uow(), rider.id, 10, None)
    before = rentals.rentals_of_rider(world.uow(), rider.id, 10, second.requested_at)

    assert [r.id for r in listed] == [second.id, first.id]
    assert [r.id for r in before] == [first.id]
    assert rentals.rentals_of_rider(world.uow(), other.id, 10, None) == []
    for limit in (0, 101):
        with pytest.raises(InvalidInput) as bad:
            rentals.rentals_of_rider(world.uow(), rider.id, limit, None)
        assert bad.value.code == "invalid_limit"


def test_the_trace_of_a_finished_ride_is_its_stored_path(world):
    rider = world.rider(credit_minor=1000)
    path = [HOME, (HOME[0] + 0.002, HOME[1]), (HOME[0] + 0.002, HOME[1] + 0.002)]
    ride = world.ride(rider, world.bike(), world.now, minutes=12, path=path)
    trace = rentals.trace_of(world.uow(), rider.id, ride.id, world.now + timedelta(hours=1))
    assert trace.path is not None
    flat = [number for point in trace.path for number in point]
    assert flat == pytest.approx([number for point in path for number in point])
    assert trace.rental.distance_m == pytest.approx(190 + 222, abs=5)


def test_the_trace_of_a_running_ride_is_built_from_its_good_fixes_so_far(world):
    rider, bike = world.rider(credit_minor=1000), world.bike()
    rental = scan(world, rider, bike)
    with world.uow() as unit:
        riding = unit.rentals.get(rental.id)
        assert riding is not None
        riding.confirm_unlock(world.now, 1, 1)
        unit.rentals.save(riding)
        unit.lock_log.record_fixes(
            [LockFix(rental.lock_id, 1, 2, world.now, *HOME, False, 80, 5.0)]
        )
        unit.commit()
    just_started = rentals.trace_of(world.uow(), rider.id, rental.id, world.now)
    assert just_started.path is None and just_started.rental.distance_m == 0

    at = world.now + timedelta(minutes=2)
    with world.uow() as unit:
        unit.lock_log.record_fixes(
            [LockFix(rental.lock_id, 1, 3, at, HOME[0] + 0.002, HOME[1], False, 80, 5.0)]
        )
        unit.commit()
    trace = rentals.trace_of(world.uow(), rider.id, rental.id, at)
    assert trace.path == [HOME, (HOME[0] + 0.002, HOME[1])]
    assert trace.rental.distance_m == pytest.approx(190, abs=2)
    assert json.dumps(trace.path)  # plain numbers, ready for the app
    assert stored(world, rental).distance_m is None  # read, not written


def test_a_failed_rental_has_no_trace(world):
    rider = world.rider(credit_minor=1000)
    rental = scan(world, rider, world.bike(online=False))
    assert rentals.trace_of(world.uow(), rider.id, rental.id, world.now).path is None
    with pytest.raises(NotFound):
        rentals.trace_of(world.uow(), uuid.uuid4(), rental.id, world.now)
