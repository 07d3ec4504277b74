"""The dashboard's figures from known rides, vehicles, hotspots and ledger postings, as
PostgreSQL computes them on the city's clock (Asia/Shanghai, UTC+8)."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update

from rental.adapters.tables import assets, ledger_transactions, rentals
from rental.domain.fleet import ServicePolicy
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account
from rental.services.dashboard import dashboard
from tests.conftest import new_lock_id
from tests.helpers import make_bike, make_city, make_user
from tests.integration.test_rebalancing import CITY, NOW, OFFICE, STATION, bike_at, set_up_city

SHANGHAI = ZoneInfo("Asia/Shanghai")
OTHER_CITY = "elsewhere"


def local(day, hour, minute=0):
    """A moment of November 2026 on Shanghai's clock."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def ride(platform, asset, rider, started, start=STATION, latency_s=1, fare_minor=0):
    """A ride that started at `started` from `start`, unlocked `latency_s` after it was
    asked for, its fare booked at its end."""
    rental_id = uuid.uuid4()
    with platform.uow() as uow:
        uow.connection.execute(
            insert(rentals).values(
                id=rental_id,
                rider_id=rider.id,
                asset_id=asset.id,
                lock_id=asset.lock_id,
                idempotency_key=uuid.uuid4().hex,
                state="ended",
                tariff={"currency": "CNY"},
                requested_at=started - timedelta(seconds=latency_s),
                started_at=started,
                ended_at=started + timedelta(minutes=10),
                fare_minor=fare_minor,
                trace=f"SRID=4326;LINESTRING({start[0]} {start[1]}, 121.47 31.24)",
            )
        )
        if fare_minor:
            revenue = AccountRef(AccountKind.PLATFORM_REVENUE, "CNY")
            owed = rider_account(AccountKind.RIDER_RECEIVABLE, str(rider.id), "CNY")
            reference = f"fare:{rental_id}"
            uow.ledger.post(
                "fare", reference, [Posting(revenue, fare_minor), Posting(owed, -fare_minor)]
            )
            uow.connection.execute(
                update(ledger_transactions)
                .where(ledger_transactions.c.reference == reference)
                .values(created_at=started + timedelta(minutes=10))
            )
        uow.commit()


def failed_unlock(platform, asset, rider, asked):
    with platform.uow() as uow:
        uow.connection.execute(
            insert(rentals).values(
                id=uuid.uuid4(),
                rider_id=rider.id,
                asset_id=asset.id,
                lock_id=asset.lock_id,
                idempotency_key=uuid.uuid4().hex,
                state="failed",
                failure_reason="timeout",
                tariff={"currency": "CNY"},
                requested_at=asked,
            )
        )
        uow.commit()


def registered_long_ago(platform):
    with platform.uow() as uow:
        uow.connection.execute(update(assets).values(created_at=NOW - timedelta(days=30)))
        uow.commit()


def test_the_dashboard_counts_a_citys_rides_unlocks_hotspots_and_revenue(platform):
    set_up_city(platform)
    at_station = [bike_at(platform, STATION) for _ in range(3)]
    bike_at(platform, OFFICE)
    bike_at(platform, OFFICE, battery=5)  # too flat for riders
    make_city(platform, OTHER_CITY)
    registered_long_ago(platform)
    rider = make_user(platform)
    bike = at_station[0]
    # Monday 23 (today: NOW is 22:00 there), Sunday 22 and Friday 20 November.
    ride(platform, bike, rider, local(23, 21, 10), latency_s=1, fare_minor=300)
    ride(platform, bike, rider, local(23, 21, 40), latency_s=2)
    ride(platform, bike, rider, local(23, 7, 30), start=OFFICE, latency_s=3)
    ride(platform, bike, rider, local(22, 8, 0), start=OFFICE, latency_s=4, fare_minor=200)
    ride(platform, bike, rider, local(20, 12, 0), latency_s=5)
    failed_unlock(platform, bike, rider, local(23, 20, 0))

    figures = dashboard(platform.uow(), CITY, 7, NOW, ServicePolicy())

    by_hour = {h.hour.astimezone(SHANGHAI).hour: h.rides for h in figures.hours}
    assert len(figures.hours) == 24 and figures.hours[-1].hour == local(23, 22)
    assert (by_hour[21], by_hour[7], sum(by_hour.values())) == (2, 1, 3)
    by_day = {d.day.day: d for d in figures.days}
    assert sorted(by_day) == [17, 18, 19, 20, 21, 22, 23]
    assert [by_day[day].rides for day in (23, 22, 21, 20)] == [3, 1, 0, 1]
    assert by_day[23].vehicles == 5 and by_day[23].rides_per_vehicle == 3 / 5
    assert (by_day[23].revenue_minor, by_day[22].revenue_minor, figures.revenue_minor) == (
        300,
        200,
        500,
    )
    unlocks = figures.unlocks
    assert (unlocks.succeeded, unlocks.failed, unlocks.success_rate) == (5, 1, 5 / 6)
    assert (unlocks.median_ms, unlocks.p95_ms) == (3000, 4800)  # interpolated, as percentile_cont
    assert [(h.name, h.available, h.morning_rides) for h in figures.hotspots] == [
        ("Office", 1, round(2 / 7, 2)),
        ("Station", 3, 0.0),
    ]


def test_another_citys_rides_and_fares_stay_out_of_a_dashboard(platform):
    set_up_city(platform)
    make_city(platform, OTHER_CITY)
    _, elsewhere = make_bike(platform, new_lock_id(), city=OTHER_CITY)
    registered_long_ago(platform)
    ride(platform, elsewhere, make_user(platform), local(23, 21, 0), fare_minor=900)

    figures = dashboard(platform.uow(), CITY, 1, NOW, ServicePolicy())

    assert [(d.rides, d.vehicles, d.revenue_minor) for d in figures.days] == [(0, 0, 0)]
    assert figures.unlocks.success_rate is None and figures.unlocks.median_ms is None
    other = dashboard(platform.uow(), OTHER_CITY, 1, NOW, ServicePolicy())
    assert [(d.rides, d.vehicles, d.revenue_minor) for d in other.days] == [(1, 1, 900)]


def test_a_vehicle_ridden_before_it_was_registered_counts_on_its_ride_days(platform):
    """Vehicles moved in from another system come with their past rides: a day with rides
    never reads as rides on no vehicles (0 rides per vehicle)."""
    set_up_city(platform)
    first, second = bike_at(platform, STATION), bike_at(platform, STATION)
    rider = make_user(platform)  # the bikes were registered at NOW, after these rides
    ride(platform, first, rider, local(20, 8, 0))
    ride(platform, first, rider, local(20, 9, 0))
    ride(platform, second, rider, local(20, 10, 0))

    by_day = {d.day.day: d for d in dashboard(platform.uow(), CITY, 7, NOW, ServicePolicy()).days}

    assert (by_day[20].rides, by_day[20].vehicles, by_day[20].rides_per_vehicle) == (3, 2, 1.5)
    assert (by_day[21].rides, by_day[21].vehicles) == (0, 0)
