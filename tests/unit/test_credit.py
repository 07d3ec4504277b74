from rental.domain.credit import (
    HIGHEST_SCORE,
    LOWEST_SCORE,
    CreditReason,
    deposit_waived,
    score_after,
)


def test_clean_rides_raise_the_score_and_unpaid_fares_lower_it():
    assert score_after(600, CreditReason.CLEAN_RIDE) == 602
    assert score_after(600, CreditReason.UNPAID_FARE) == 585
    assert score_after(600, CreditReason.DAMAGE) == 570


def test_the_score_stays_within_its_range():
    assert score_after(HIGHEST_SCORE, CreditReason.TIMELY_PAYMENT) == HIGHEST_SCORE
    assert score_after(LOWEST_SCORE + 5, CreditReason.DAMAGE) == LOWEST_SCORE


def test_a_deposit_is_waived_at_or_above_the_threshold_only():
    assert deposit_waived(650, 650)
    assert not deposit_waived(649, 650)
    assert not deposit_waived(950, None)
