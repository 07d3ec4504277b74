import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import Conflict
from rental.domain.pricing import Tariff
from rental.domain.rentals import FailureReason, Rental, RentalState

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def unlocking_rental() -> Rental:
    return Rental(
        id=uuid.uuid4(),
        rider_id=uuid.uuid4(),
        asset_id=uuid.uuid4(),
        lock_id="L1",
        tariff=Tariff("CNY", 0, 150, 1800),
        state=RentalState.UNLOCKING,
        requested_at=T0,
        idempotency_key="k" * 8,
    )


def test_a_confirmed_rental_ends_with_the_fare_for_its_duration():
    rental = unlocking_rental()
    rental.confirm_unlock(T0 + timedelta(seconds=2))
    fare = rental.end(T0 + timedelta(minutes=45))
    assert rental.state is RentalState.ENDED
    assert fare == rental.fare_minor == 300
    assert rental.duration_seconds == 45 * 60 - 2


def test_a_failed_rental_owes_nothing_and_cannot_start_later():
    rental = unlocking_rental()
    rental.fail(FailureReason.TIMEOUT)
    assert rental.fare_minor is None
    with pytest.raises(Conflict):
        rental.confirm_unlock(T0)


def test_a_rental_cannot_end_before_the_lock_opened():
    with pytest.raises(Conflict):
        unlocking_rental().end(T0)


def test_an_end_reported_before_the_start_costs_the_minimum():
    rental = unlocking_rental()
    rental.confirm_unlock(T0 + timedelta(seconds=10))
    assert rental.end(T0) == 150
    assert rental.duration_seconds == 0
