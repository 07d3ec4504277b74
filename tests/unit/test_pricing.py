import pytest
from hypothesis import given
from hypothesis import strategies as st

from rental.domain.pricing import DEFAULT_BIKE_TARIFF, Tariff, fare_for

tariffs = st.builds(
    Tariff,
    currency=st.just("CNY"),
    unlock_fee_minor=st.integers(0, 500),
    rate_per_interval_minor=st.integers(0, 1000),
    interval_seconds=st.integers(60, 7200),
)
durations = st.integers(0, 3 * 24 * 3600)


def test_every_started_half_hour_costs_one_fifty():
    assert fare_for(0, DEFAULT_BIKE_TARIFF) == 150
    assert fare_for(1800, DEFAULT_BIKE_TARIFF) == 150
    assert fare_for(1801, DEFAULT_BIKE_TARIFF) == 300
    assert fare_for(3 * 3600, DEFAULT_BIKE_TARIFF) == 900


def test_unlock_fee_is_added_once():
    tariff = Tariff("CNY", unlock_fee_minor=100, rate_per_interval_minor=150, interval_seconds=1800)
    assert fare_for(2000, tariff) == 100 + 2 * 150


@given(tariffs, durations)
def test_fares_are_never_negative_integers(tariff, duration):
    fare = fare_for(duration, tariff)
    assert isinstance(fare, int)
    assert fare >= tariff.unlock_fee_minor


@given(tariffs, durations, durations)
def test_fares_never_fall_as_trips_get_longer(tariff, a, b):
    shorter, longer = sorted((a, b))
    assert fare_for(shorter, tariff) <= fare_for(longer, tariff)


def test_negative_prices_and_durations_are_refused():
    with pytest.raises(ValueError):
        Tariff("CNY", -1, 150, 1800)
    with pytest.raises(ValueError):
        fare_for(-5, DEFAULT_BIKE_TARIFF)
