"""Fair use on PostgreSQL: a rider's requests sent at once are counted one after the
other (the rider's advisory locks), and the queries behind the limits."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from rental.adapters.db import UnitOfWork
from rental.bootstrap import utc_now
from rental.services import payments
from rental.services.commands.money import StartTopUp
from tests.helpers import make_user
from tests.unit.fakes import FakePaymentGateway

LOCKS: dict[str, Callable[[UnitOfWork, object], None]] = {
    "payment orders": lambda uow, rider: uow.payments.lock_rider_orders(rider),
    "damage reports": lambda uow, rider: uow.damage_reports.lock_reporter(rider),
}


@pytest.mark.parametrize("lock", LOCKS.values(), ids=LOCKS.keys())
def test_a_riders_second_transaction_waits_for_the_first(platform, lock):
    rider, other = make_user(platform), make_user(platform)
    second_in = threading.Event()

    def second() -> None:
        with platform.uow() as uow:
            lock(uow, rider.id)
            second_in.set()

    with platform.uow() as first:
        lock(first, rider.id)
        waiting = threading.Thread(target=second)
        waiting.start()
        with platform.uow() as elsewhere:
            lock(elsewhere, other.id)  # another rider's requests do not wait
        assert not second_in.wait(0.5)
        first.commit()
    waiting.join(5)
    assert second_in.is_set()


def test_only_orders_still_waiting_count_and_the_sweep_expires_the_rest(platform):
    rider = make_user(platform)
    gateway = FakePaymentGateway("sandbox")
    now = utc_now()
    orders = [
        payments.start_top_up(
            platform.uow(),
            gateway,
            StartTopUp(rider.id, 1000, "CNY", f"topup-{n}"),
            "https://rental.example/notify",
            now - timedelta(minutes=minutes),
        )
        for n, minutes in enumerate((40, 20, 10))
    ]
    with platform.uow() as uow:
        waiting = sorted(uow.payments.open_until(rider.id, now))
    assert waiting == [o.expires_at for o in orders[1:]]

    assert payments.expire_orders(platform.uow(), now) == 1
    with platform.uow() as uow:
        states = [uow.payments.order(o.id).state.value for o in orders]  # type: ignore[union-attr]
    assert states == ["expired", "pending", "pending"]
