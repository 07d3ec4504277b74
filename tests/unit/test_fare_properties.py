"""Fares over several days with intervals that do not divide a day: the price and the
receipt come from one computation, and the daily cap holds for every started 24 hours."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from rental.domain.pricing import DAY_SECONDS, Tariff, fare_breakdown, fare_for, fare_lines

MINUTE = 60

# 7, 11, 13 and 17 minutes leave a started interval at the end of every day; any other
# number of seconds mostly does too.
intervals = st.sampled_from([7 * MINUTE, 11 * MINUTE, 13 * MINUTE, 17 * MINUTE]) | st.integers(
    MINUTE, DAY_SECONDS
)
tariffs = st.builds(
    Tariff,
    currency=st.just("CNY"),
    unlock_fee_minor=st.integers(0, 500),
    rate_per_interval_minor=st.integers(0, 1000),
    interval_seconds=intervals,
    free_seconds=st.just(0) | st.integers(1, DAY_SECONDS),
    daily_cap_minor=st.none() | st.integers(0, 20_000),
)
uncapped_tariffs = tariffs.map(lambda tariff: replace(tariff, daily_cap_minor=None))
capped_tariffs = tariffs.filter(lambda tariff: tariff.daily_cap_minor is not None)
durations = st.integers(0, 6 * DAY_SECONDS)


def within_free_time(duration: int, tariff: Tariff) -> bool:
    return bool(tariff.free_seconds) and duration <= tariff.free_seconds


@given(tariffs, durations)
def test_the_receipt_lines_add_up_to_the_fare(tariff, duration):
    lines = fare_lines(duration, tariff)
    assert sum(line.amount_minor for line in lines) == fare_for(duration, tariff)


@given(uncapped_tariffs, durations)
def test_without_a_cap_every_started_interval_is_paid_exactly_once(tariff, duration):
    if within_free_time(duration, tariff):
        assert fare_for(duration, tariff) == 0
        return
    billable = max(1, duration - tariff.free_seconds)
    started = -(-billable // tariff.interval_seconds)
    expected = tariff.unlock_fee_minor + started * tariff.rate_per_interval_minor
    assert fare_for(duration, tariff) == expected


@given(tariffs, durations, durations)
def test_the_fare_never_falls_as_the_ride_grows(tariff, a, b):
    shorter, longer = sorted((a, b))
    assert fare_for(shorter, tariff) <= fare_for(longer, tariff)


@given(capped_tariffs, durations)
def test_no_24_hours_of_billable_time_are_charged_more_than_the_cap(tariff, duration):
    """Measured from fare_for alone: what the ride adds while its k-th day runs."""
    if within_free_time(duration, tariff):
        return
    cap = tariff.daily_cap_minor
    assert cap is not None
    billable = max(1, duration - tariff.free_seconds)
    charged_before = tariff.unlock_fee_minor  # up to the start of the day
    for day_start in range(0, billable, DAY_SECONDS):
        day_end = min(billable, day_start + DAY_SECONDS)
        charged_by_end = fare_for(tariff.free_seconds + day_end, tariff)
        assert charged_by_end - charged_before <= cap
        charged_before = charged_by_end
    assert all(charge <= cap for charge in fare_breakdown(duration, tariff).day_charges_minor)


@given(tariffs, durations)
def test_the_daily_cap_line_only_ever_takes_money_off(tariff, duration):
    lines = fare_lines(duration, tariff)
    assert all(line.amount_minor < 0 for line in lines if line.kind == "daily_cap")
    [riding] = [line for line in lines if line.kind == "riding"] or [None]
    if riding is not None:
        assert riding.amount_minor == riding.count * tariff.rate_per_interval_minor
    if tariff.daily_cap_minor is None:
        assert all(line.kind != "daily_cap" for line in lines)
