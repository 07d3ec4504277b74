"""Builders for test data, through the same use cases the API uses."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rental.bootstrap import Platform
from rental.domain.fleet import Asset, Lock
from rental.domain.pricing import Tariff
from rental.domain.riders import Role, User
from rental.services import accounts, fleet

CITY = "testcity"
BIKE_PRICE = Tariff("CNY", 0, rate_per_interval_minor=150, interval_seconds=1800)
RIDER_PASSWORD = "correct horse battery"


def make_city(platform: Platform) -> None:
    with platform.uow() as uow:
        if uow.cities.currency_of(CITY) is None:
            uow.cities.add(CITY, "Test City", "CNY", "Asia/Shanghai", 121.47, 31.23)
            uow.pricing_plans.publish(CITY, "bike", BIKE_PRICE)
            uow.commit()


def make_user(platform: Platform, role: Role = Role.RIDER, credit_minor: int = 0) -> User:
    phone = f"1{uuid.uuid4().int % 10**10:010d}"
    user = accounts.register(platform.uow(), phone, RIDER_PASSWORD, "Test User", role)
    if credit_minor:
        accounts.grant_promotion(platform.uow(), user.id, "CNY", credit_minor, f"test:{user.id}")
    return user


def make_bike(platform: Platform, lock_id: str, *, online: bool = True) -> tuple[Lock, Asset]:
    """A bike and its lock in the database only (no broker account)."""
    make_city(platform)
    lock = Lock(id=lock_id, signing_key=uuid.uuid4().bytes * 2)
    with platform.uow() as uow:
        uow.locks.add(lock)
        uow.locks.record_presence(lock_id, online, 1, datetime.now(UTC))
        uow.commit()
    asset = fleet.register_asset(platform.uow(), f"BK-{lock_id}", "bike", lock_id, CITY)
    return lock, asset


def eventually(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
