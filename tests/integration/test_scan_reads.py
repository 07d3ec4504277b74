"""What a scan and its watching read, on PostgreSQL: the asset with the rider's standing in one
statement, and the rental with its city's clock in one more. The statements are built once
with bind parameters, so these tests also check that each parameter lands where it should."""

import uuid
from datetime import timedelta

import pytest

from rental.bootstrap import utc_now
from rental.domain.cities import City
from rental.domain.errors import NotFound
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account
from rental.domain.rentals import RentalState
from rental.services import rentals
from rental.services.commands.rides import RequestUnlock
from tests.conftest import new_lock_id
from tests.helpers import BIKE_PRICE, RecordingLockCommands, make_bike, make_user

CITY = "scanreads"


@pytest.fixture(autouse=True)
def city(platform):
    with platform.uow() as uow:
        uow.cities.add(City(CITY, "Scan Reads", "Europe/Berlin", "CNY", "de-DE", 13.4, 52.5))
        uow.pricing_plans.publish(CITY, "bike", BIKE_PRICE)
        uow.commit()


def scan(platform, rider, asset, key):
    command = RequestUnlock(rider.id, asset.code, key)
    unlocking = rentals.Unlocking(timedelta(seconds=10))
    locks = RecordingLockCommands()
    return rentals.request_unlock_shown(platform.uow(), locks, command, utc_now(), unlocking)


def test_a_scan_and_its_repeat_are_answered_on_the_citys_clock(platform):
    rider = make_user(platform, credit_minor=1000)
    _, bike = make_bike(platform, new_lock_id(), city=CITY)

    first = scan(platform, rider, bike, "scan-reads-1")
    again = scan(platform, rider, bike, "scan-reads-1")

    assert (first.rental.state, first.time_zone) == (RentalState.UNLOCKING, "Europe/Berlin")
    assert (again.rental.id, again.time_zone) == (first.rental.id, "Europe/Berlin")


def test_a_rider_watches_only_their_own_rental_on_its_citys_clock(platform):
    rider, other = make_user(platform, credit_minor=1000), make_user(platform)
    _, bike = make_bike(platform, new_lock_id(), city=CITY)
    rental = scan(platform, rider, bike, uuid.uuid4().hex).rental

    shown = rentals.rental_shown_to_rider(platform.reader(), rider.id, rental.id)
    with pytest.raises(NotFound):
        rentals.rental_shown_to_rider(platform.reader(), other.id, rental.id)

    assert shown.rental == rental
    assert shown.time_zone == "Europe/Berlin"


def test_the_scan_reads_the_scanning_riders_standing_and_no_one_elses(platform):
    rider, other = make_user(platform), make_user(platform)
    _, bike = make_bike(platform, new_lock_id(), city=CITY)
    owed = rider_account(AccountKind.RIDER_RECEIVABLE, str(rider.id), "CNY")
    revenue = AccountRef(AccountKind.PLATFORM_REVENUE, "CNY")
    with platform.uow() as uow:  # an unpaid fare of 3.00
        unpaid = [Posting(owed, -300), Posting(revenue, 300)]
        uow.ledger.post("fare", f"test-debt-{rider.id}", unpaid)
        uow.commit()
    earlier = scan(platform, other, bike, "key-of-other").rental

    with platform.uow() as uow:
        mine = uow.assets.for_scan(bike.code, rider.id, "key-of-other")
        theirs = uow.assets.for_scan(bike.code, other.id, "key-of-other")
        nobodys = uow.assets.for_scan(bike.code)

    assert mine is not None and theirs is not None and nobodys is not None
    assert (mine.rider_debt_minor, mine.earlier_rental_id, mine.taken) == (300, None, True)
    assert (theirs.rider_debt_minor, theirs.earlier_rental_id) == (0, earlier.id)
    assert (nobodys.rider_debt_minor, nobodys.earlier_rental_id) == (0, None)
    assert {mine.time_zone, theirs.time_zone, nobodys.time_zone} == {"Europe/Berlin"}
