"""The MDS provider API of one city as the use cases define it, in memory: who may read,
pages in id order, hours served once over and settled, the state of each vehicle now,
and the monthly report."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import InvalidInput, NotAuthenticated, NotFound
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.mds import REPORT_HEADER, VehicleEvent
from rental.domain.zones import Parking
from rental.services import mds
from rental.services.commands.maintenance import UpdateAsset
from rental.services.commands.open_data import MdsPage, RegisterMdsClient
from rental.services.commands.rides import Reserve
from rental.services.maintenance import update_asset
from rental.services.read_models import VehicleEventRecord
from rental.services.reservations import reserve
from tests.unit.fakes.world import BIKE_PRICE, CITY, CURRENCY, HOME, NOW, World

POLICY = ServicePolicy()
SETTLE = timedelta(minutes=5)
HOUR = (NOW, NOW + timedelta(hours=1))  # 08:00 to 09:00 UTC


@pytest.fixture
def world() -> World:
    return World()


MARCH = "2026-03.csv"


def provider(now: datetime = NOW + timedelta(hours=2)) -> mds.Provider:
    return mds.Provider("provider-1", CITY, now, POLICY)


# --- access ---------------------------------------------------------------------------


def test_a_city_gets_a_client_until_it_is_revoked(world):
    client_id = mds.register_client(world.uow(), RegisterMdsClient(CITY, "City transport office"))
    assert mds.city_of_client(world.uow(), client_id) == CITY
    [client] = mds.clients(world.uow())
    assert (client.id, client.name, client.revoked_at) == (client_id, "City transport office", None)

    mds.revoke_client(world.uow(), client_id, NOW)

    with pytest.raises(NotAuthenticated) as revoked:
        mds.city_of_client(world.uow(), client_id)
    assert revoked.value.code == "token_revoked"
    assert mds.clients(world.uow())[0].revoked_at == NOW
    with pytest.raises(NotFound) as twice:
        mds.revoke_client(world.uow(), client_id, NOW)
    assert twice.value.code == "client_not_found"


def test_a_client_is_for_a_city_that_exists(world):
    with pytest.raises(NotFound) as missing:
        mds.register_client(world.uow(), RegisterMdsClient("nowhere", "?"))
    assert missing.value.code == "city_not_found"
    assert mds.clients(world.uow()) == []
    with pytest.raises(NotAuthenticated):
        mds.city_of_client(world.uow(), uuid.uuid4())


# --- vehicles -------------------------------------------------------------------------


def test_vehicles_come_in_pages_in_id_order_the_last_without_a_next(world):
    bikes = sorted((world.bike() for _ in range(5)), key=lambda bike: bike.id)
    world.item(world.cabinet(), 1)  # items are no MDS vehicles
    world.add_city("othercity")
    world.bike(city_id="othercity")

    pages, after = [], None
    while True:
        page = mds.vehicles(world.uow(), provider(), MdsPage(after, 2), None)
        pages.append([vehicle.id for vehicle in page.items])
        if page.next_after is None:
            break
        after = uuid.UUID(page.next_after)

    assert pages == [[b.id for b in bikes[:2]], [b.id for b in bikes[2:4]], [bikes[4].id]]
    one = mds.vehicles(world.uow(), provider(), MdsPage(None, 2), bikes[3].id)
    assert [(v.code, v.kind) for v in one.items] == [(bikes[3].code, AssetKind.BIKE)]
    assert one.next_after is None


def test_a_full_last_page_still_names_a_next_one_which_is_empty(world):
    bikes = sorted((world.bike() for _ in range(2)), key=lambda bike: bike.id)
    full = mds.vehicles(world.uow(), provider(), MdsPage(None, 2), None)
    assert full.next_after == str(bikes[1].id)
    after = mds.vehicles(world.uow(), provider(), MdsPage(bikes[1].id, 2), None)
    assert (after.items, after.next_after) == ([], None)


def test_a_vehicle_keeps_its_logged_event_while_it_still_says_how_it_is(world):
    bike = world.bike()
    hold = Reserve(world.rider().id, bike.code, "hold-0001")
    reserve(world.uow(), hold, NOW, timedelta(minutes=15), POLICY)

    [status] = mds.vehicle_statuses(
        world.uow(), provider(NOW + timedelta(minutes=1)), MdsPage(None, 10), None
    ).items

    assert isinstance(status.last_event, VehicleEventRecord)
    assert (status.last_event.kind, status.last_event.at) == (VehicleEvent.RESERVATION_START, NOW)
    assert status.vehicle.reserved


def test_a_silent_lock_makes_its_vehicle_non_contactable_from_when_it_was_due(world):
    bike = world.bike(seen=NOW)
    world.ride(world.rider(credit_minor=1000), bike, NOW, minutes=10)
    now = NOW + timedelta(hours=3)  # nothing heard since the ride ended

    [status] = mds.vehicle_statuses(world.uow(), provider(now), MdsPage(None, 10), None).items
    [again] = mds.vehicle_statuses(world.uow(), provider(now), MdsPage(None, 10), bike.id).items

    last_seen = NOW + timedelta(minutes=10)
    assert isinstance(status.last_event, mds.LiveEvent)
    assert (status.last_event.vehicle_state, status.last_event.event_type) == (
        "non_contactable",
        "comms_lost",
    )
    assert status.last_event.at == last_seen + POLICY.silence
    assert again.last_event == status.last_event  # the same event id on every read
    fix = status.last_telemetry.fix  # the ride's last
    assert fix.recorded_at == last_seen
    assert fix.lon == pytest.approx(HOME[0] + 0.004)
    assert status.last_telemetry.rental_id is None


def test_a_vehicle_never_logged_is_as_its_lock_says_since_it_was_last_heard(world):
    seen = NOW - timedelta(minutes=3)
    bike = world.bike(seen=seen)
    world.bike(located=False)  # never located: no MDS vehicle status

    [status] = mds.vehicle_statuses(world.uow(), provider(NOW), MdsPage(None, 10), None).items

    assert status.vehicle.id == bike.id
    assert isinstance(status.last_event, mds.LiveEvent)
    assert (status.last_event.vehicle_state, status.last_event.at) == ("available", seen)
    fix = status.last_telemetry.fix  # none reported: where the lock is, when last heard
    assert (fix.lon, fix.lat, fix.recorded_at, fix.boot, fix.seq) == (*HOME, seen, 0, 0)


def test_a_vehicle_taken_out_of_service_is_removed(world):
    bike = world.bike()
    update_asset(world.uow(), UpdateAsset(bike.code, in_service=False), NOW)
    [status] = mds.vehicle_statuses(world.uow(), provider(NOW), MdsPage(None, 10), None).items
    assert isinstance(status.last_event, VehicleEventRecord)
    assert status.last_event.kind is VehicleEvent.SERVICE_STOP


# --- by the hour ----------------------------------------------------------------------


def test_an_hour_is_served_once_over_and_settled():
    with pytest.raises(NotFound) as running:
        mds.served_hour(HOUR, HOUR[1] - timedelta(seconds=1), SETTLE)
    assert running.value.code == "hour_not_past"
    with pytest.raises(mds.NotReady):
        mds.served_hour(HOUR, HOUR[1] + SETTLE - timedelta(seconds=1), SETTLE)
    assert mds.served_hour(HOUR, HOUR[1] + SETTLE, SETTLE) == HOUR


def test_an_hour_lists_the_trips_that_ended_in_it_with_their_telemetry_and_events(world):
    rider = world.rider(credit_minor=1000)
    bike = world.bike()
    path = [HOME, (HOME[0] + 0.002, HOME[1]), (HOME[0] + 0.004, HOME[1])]
    earlier = world.ride(rider, bike, NOW + timedelta(minutes=5), minutes=10)
    ride = world.ride(rider, bike, NOW + timedelta(minutes=45), minutes=25, path=path)
    assert ride.ended_at == NOW + timedelta(minutes=70)  # in the next hour

    later = provider(NOW + timedelta(hours=3))
    trips = mds.trips(world.uow(), later, HOUR, SETTLE)
    next_hour = (HOUR[1], HOUR[1] + timedelta(hours=1))
    later_trips = mds.trips(world.uow(), later, next_hour, SETTLE)
    telemetry = mds.telemetry(world.uow(), later, HOUR, SETTLE)
    events = mds.historical_events(world.uow(), later, HOUR, SETTLE)

    assert [trip.id for trip in trips] == [earlier.id]
    [trip] = later_trips
    assert (trip.id, trip.fare_minor, trip.currency, trip.parking) == (
        ride.id,
        100 + 150,
        CURRENCY,
        Parking.OK,
    )
    assert (trip.start_lon, trip.end_lon) == pytest.approx((HOME[0], HOME[0] + 0.004))
    assert {record.rental_id for record in telemetry} == {earlier.id, ride.id}
    # The ride's fixes at 08:45 and 08:57:30; the one at 09:10 is the next hour's.
    assert len([record for record in telemetry if record.rental_id == ride.id]) == 2
    assert len(telemetry) == 2 + 2
    assert [event.kind for event in events] == [
        VehicleEvent.TRIP_START,
        VehicleEvent.TRIP_END,
        VehicleEvent.TRIP_START,
    ]


def test_an_hour_not_yet_settled_is_not_served(world):
    with pytest.raises(mds.NotReady):
        mds.trips(world.uow(), provider(HOUR[1] + timedelta(minutes=1)), HOUR, SETTLE)
    with pytest.raises(NotFound) as running:
        mds.historical_events(world.uow(), provider(NOW), HOUR, SETTLE)
    assert running.value.code == "hour_not_past"


def test_telemetry_of_an_hour_not_over_is_a_bad_parameter_as_mds_has_no_404_for_it(world):
    with pytest.raises(InvalidInput) as running:
        mds.telemetry(world.uow(), provider(NOW), HOUR, SETTLE)
    assert running.value.code == "hour_not_past"


# --- recent events --------------------------------------------------------------------


def test_recent_events_come_in_pages_oldest_first_without_gaps_or_repeats(world):
    bikes = [world.bike() for _ in range(5)]
    for minutes, bike in enumerate(bikes):
        update_asset(
            world.uow(), UpdateAsset(bike.code, in_service=False), NOW + timedelta(minutes=minutes)
        )
    window = (NOW, NOW + timedelta(hours=1))

    seen, after = [], None
    while True:
        page = mds.recent_events(world.uow(), provider(), window, MdsPage(after, 2))
        seen.append([event.asset_id for event in page.items])
        if page.next_after is None:
            break
        after = uuid.UUID(page.next_after)

    assert seen == [[b.id for b in bikes[:2]], [b.id for b in bikes[2:4]], [bikes[4].id]]


def test_recent_events_reach_back_two_weeks_only(world):
    old = (NOW - timedelta(days=15), NOW)
    with pytest.raises(InvalidInput) as refused:
        mds.recent_events(world.uow(), provider(), old, MdsPage(None, 10))
    assert refused.value.code == "bad_param"


# --- reports --------------------------------------------------------------------------


def test_the_monthly_report_counts_rides_and_hides_small_groups(world):
    march = (NOW.replace(day=1), NOW.replace(month=4, day=1))
    riders = [world.rider(credit_minor=5000) for _ in range(2)]
    bike = world.bike()
    world.publish("ebike", BIKE_PRICE)
    ebike = world.bike(kind=AssetKind.EBIKE)
    for number in range(10):
        start = NOW + timedelta(minutes=12 * number)
        vehicle = ebike if number % 2 else bike
        world.ride(riders[number % 2], vehicle, start, minutes=10)

    report = mds.monthly_report(world.uow(), provider(march[1] + timedelta(days=1)), "2026-03.csv")

    header, *rows = report.strip().split("\n")
    assert header == REPORT_HEADER
    # Ten rides of bicycles (bikes and e-bikes alike), by two riders: too few to show.
    assert rows == ["provider-1,2026-03-01,P1M,all_riders,,bicycle,10,-1"]


def test_a_month_is_reported_once_it_is_over_on_the_citys_clock(world):
    # March in Shanghai (UTC+8) ends at 16:00 UTC on the 31st.
    shanghai_april = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(NotFound) as early:
        mds.monthly_report(world.uow(), provider(shanghai_april - timedelta(seconds=1)), MARCH)
    assert early.value.code == "report_not_found"
    empty = mds.monthly_report(world.uow(), provider(shanghai_april), MARCH)
    assert empty.endswith("bicycle,0,0\n")


def test_a_ride_after_midnight_local_counts_in_the_citys_next_month():
    # 17:00 UTC on 31 March is 01:00 on 1 April in Shanghai: eleven rides, by eleven riders.
    first = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    world = World(first)
    riders = [world.rider(credit_minor=5000) for _ in range(11)]
    bike = world.bike()
    for number, rider in enumerate(riders):
        world.ride(rider, bike, first + timedelta(minutes=12 * number), minutes=10)
    after_april = provider(datetime(2026, 5, 1, tzinfo=UTC))

    march = mds.monthly_report(world.uow(), after_april, MARCH)
    april = mds.monthly_report(world.uow(), after_april, "2026-04.csv")

    assert march.endswith("provider-1,2026-03-01,P1M,all_riders,,bicycle,0,0\n")
    assert april.endswith("provider-1,2026-04-01,P1M,all_riders,,bicycle,11,11\n")
