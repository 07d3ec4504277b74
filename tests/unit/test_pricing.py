import pytest
from hypothesis import given
from hypothesis import strategies as st

from rental.domain.pricing import (
    DAY_SECONDS,
    FareLine,
    Tariff,
    describe,
    fare_breakdown,
    fare_for,
    fare_lines,
)

BIKE = Tariff("CNY", unlock_fee_minor=0, rate_per_interval_minor=150, interval_seconds=1800)
POWER_BANK = Tariff(
    "CNY",
    0,
    rate_per_interval_minor=200,
    interval_seconds=3600,
    free_seconds=300,
    daily_cap_minor=2000,
)

tariffs = st.builds(
    Tariff,
    currency=st.just("CNY"),
    unlock_fee_minor=st.integers(0, 500),
    rate_per_interval_minor=st.integers(0, 1000),
    interval_seconds=st.integers(60, 7200),
    free_seconds=st.integers(0, 1800),
    daily_cap_minor=st.none() | st.integers(0, 10_000),
)
durations = st.integers(0, 4 * DAY_SECONDS)


def test_every_started_half_hour_costs_one_fifty():
    assert fare_for(0, BIKE) == 150
    assert fare_for(1800, BIKE) == 150
    assert fare_for(1801, BIKE) == 300
    assert fare_for(3 * 3600, BIKE) == 900


def test_free_minutes_then_started_hours_up_to_the_daily_cap():
    assert fare_for(300, POWER_BANK) == 0
    assert fare_for(301, POWER_BANK) == 200
    assert fare_for(300 + 3600 + 1, POWER_BANK) == 400
    assert fare_for(20 * 3600, POWER_BANK) == 2000
    assert fare_for(DAY_SECONDS + 300 + 1, POWER_BANK) == 2000 + 200


def test_unlock_fee_is_added_once():
    tariff = Tariff("CNY", unlock_fee_minor=100, rate_per_interval_minor=150, interval_seconds=1800)
    assert fare_for(2000, tariff) == 100 + 2 * 150


@given(tariffs, durations)
def test_fares_are_never_negative_integers(tariff, duration):
    fare = fare_for(duration, tariff)
    assert isinstance(fare, int)
    assert fare >= 0


@given(tariffs, durations)
def test_fares_never_pass_the_cap_of_each_started_day(tariff, duration):
    if tariff.daily_cap_minor is None:
        return
    started_days = max(1, -(-duration // DAY_SECONDS))
    assert (
        fare_for(duration, tariff)
        <= tariff.unlock_fee_minor + started_days * tariff.daily_cap_minor
    )


@given(tariffs, durations, durations)
def test_fares_never_fall_as_trips_get_longer(tariff, a, b):
    shorter, longer = sorted((a, b))
    assert fare_for(shorter, tariff) <= fare_for(longer, tariff)


def test_riders_read_the_price_in_plain_words():
    assert describe(BIKE) == "1.50 CNY per 30 min"
    assert describe(POWER_BANK) == "2.00 CNY per hour, first 5 min free, at most 20.00 CNY a day"


def test_nonsense_tariffs_and_durations_are_refused():
    with pytest.raises(ValueError):
        Tariff("CNY", -1, 150, 1800)
    with pytest.raises(ValueError):
        Tariff("CNY", 0, 150, 10)
    with pytest.raises(ValueError):
        fare_for(-5, BIKE)


@given(tariffs, durations)
def test_receipt_lines_always_add_up_to_the_fare(tariff, duration):
    lines = fare_lines(duration, tariff)
    assert sum(line.amount_minor for line in lines) == fare_for(duration, tariff)


def test_a_capped_day_shows_the_cap_as_a_discount():
    lines = fare_lines(20 * 3600, POWER_BANK)
    assert lines == [
        FareLine("riding", "Riding: 20 x hour after 5 min free", 4000, 20),
        FareLine("daily_cap", "Daily cap", -2000),
    ]


def test_an_interval_straddling_the_end_of_a_day_is_paid_once():
    # 24 h 1 min at 7 min: 205 whole intervals and one started; 207 when each day
    # counted its own started intervals.
    seven_minutes = Tariff(
        "CNY", unlock_fee_minor=0, rate_per_interval_minor=1, interval_seconds=420
    )
    duration = DAY_SECONDS + 60
    assert fare_for(duration, seven_minutes) == 206
    assert fare_lines(duration, seven_minutes) == [
        FareLine("riding", "Riding: 206 x 7 min", 206, 206)
    ]


def test_each_started_day_is_capped_on_its_own_intervals():
    # 7 min, cap 100: day one holds intervals 0-205 (206 of them, the last straddling
    # midnight), day two the next 2.
    capped = Tariff("CNY", 50, rate_per_interval_minor=1, interval_seconds=420, daily_cap_minor=100)
    breakdown = fare_breakdown(DAY_SECONDS + 15 * 60, capped)
    assert (breakdown.intervals, breakdown.day_charges_minor) == (208, (100, 2))
    assert fare_lines(DAY_SECONDS + 15 * 60, capped) == [
        FareLine("unlock", "Unlock", 50),
        FareLine("riding", "Riding: 208 x 7 min", 208, 208),
        FareLine("daily_cap", "Daily cap", -106),
    ]


def test_an_item_kept_for_weeks_is_priced_day_by_day():
    minute = Tariff("CNY", 0, rate_per_interval_minor=10, interval_seconds=60, daily_cap_minor=500)
    breakdown = fare_breakdown(8 * 7 * DAY_SECONDS, minute)
    assert breakdown.day_charges_minor == (500,) * 56
    assert breakdown.total_minor == 56 * 500
