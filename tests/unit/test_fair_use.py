"""The fair-use rules as plain functions: when a rider may report, pay or hold again."""

from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.fair_use import (
    HoldRules,
    PaymentOrderRules,
    ReportingRules,
    holds_allowed_again_at,
    orders_allowed_again_at,
    reports_allowed_again_at,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_the_oldest_report_of_the_last_24_hours_says_when_the_next_is_allowed():
    rules = ReportingRules(per_day=3)
    assert reports_allowed_again_at(minutes_ago(60, 30), NOW, rules) is None
    # The one from yesterday no longer counts; of the three today, the oldest frees a place.
    reported = minutes_ago(24 * 60 + 1, 600, 60, 30)
    assert reports_allowed_again_at(reported, NOW, rules) == NOW + timedelta(hours=14)
    # Lowered to 2 with 3 today: the two oldest must age out.
    lowered = ReportingRules(per_day=2)
    assert reports_allowed_again_at(reported, NOW, lowered) == NOW + timedelta(hours=23)


def test_open_orders_block_until_enough_of_them_expire():
    rules = PaymentOrderRules(open_orders=2)
    expiring = [NOW + timedelta(minutes=m) for m in (25, 5, 15)]
    assert orders_allowed_again_at(expiring, NOW, rules) == NOW + timedelta(minutes=15)
    assert orders_allowed_again_at(expiring[:1], NOW, rules) is None
    # An order whose time is up does not count, swept or not.
    assert orders_allowed_again_at([NOW, NOW + timedelta(minutes=5)], NOW, rules) is None


@pytest.mark.parametrize(
    ("cancelled", "paused_until"),
    [
        (minutes_ago(50, 30, 10), NOW + timedelta(minutes=20)),
        (minutes_ago(10, 50, 30), NOW + timedelta(minutes=20)),  # in any order
        (minutes_ago(75, 30, 10), None),  # not three within the hour
        (minutes_ago(100, 80, 65), None),  # three within the hour, pause over
        (minutes_ago(90, 50, 30, 5), NOW + timedelta(minutes=25)),  # the latest third counts
        (minutes_ago(40, 20), None),
    ],
)
def test_holds_pause_after_the_third_cancel_within_an_hour(cancelled, paused_until):
    assert holds_allowed_again_at(cancelled, NOW, HoldRules()) == paused_until


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReportingRules(per_day=0),
        lambda: PaymentOrderRules(open_orders=0),
        lambda: HoldRules(cancels=0),
    ],
)
def test_a_limit_of_zero_is_a_mistake_in_the_settings(make):
    with pytest.raises(ValueError, match="at least 1"):
        make()
