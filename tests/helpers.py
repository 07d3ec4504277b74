"""Builders for test data, through the same use cases the API uses."""

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import assert_never

from rental.adapters.locks.protocol import Event, EventType
from rental.adapters.locks.reports import event_reported
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.cities import City
from rental.domain.fleet import Asset, AssetKind, Lock
from rental.domain.pricing import Tariff
from rental.domain.rentals import FailureReason, Rental
from rental.domain.riders import Role, User
from rental.services import accounts, assets
from rental.services import lock_events as reports
from rental.services.commands.assets import RegisterVehicle
from rental.services.commands.riders import RegisterUser
from rental.services.commands.rides import RequestUnlock
from rental.services.lock_commands import AcknowledgeEvent, LockCommand, Release, Ring, Unlock
from rental.services.ports import LockCommandError
from rental.services.rentals import Unlocking, request_unlock

CITY = "testcity"
BIKE_PRICE = Tariff("CNY", 0, rate_per_interval_minor=150, interval_seconds=1800)
RIDER_PASSWORD = "correct horse battery"


def rate_limit_settings(**low: str) -> dict[str, str]:
    """The rate limits' settings for a test's app: counted in the project-local Redis (or in
    memory without one) under a key prefix of its own, so no two apps share a counter; every
    limit far above what a test sends, except those given (`RATE_LIMIT_SCANS="2/minute"`)."""
    generous = {f.name: "100000/minute" for f in fields(Config) if f.name.startswith("RATE_LIMIT_")}
    unknown = set(low) - set(generous)
    assert not unknown, f"no such rate limit setting: {unknown}"
    return {
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        **generous,
        **low,
    }


def make_city(platform: Platform, city: str = CITY, price: Tariff = BIKE_PRICE) -> None:
    with platform.uow() as uow:
        if uow.cities.currency_of(city) is None:
            uow.cities.add(City(city, "Test City", "Asia/Shanghai", "CNY", "en", 121.47, 31.23))
            uow.pricing_plans.publish(city, "bike", price)
            uow.commit()


def make_user(platform: Platform, role: Role = Role.RIDER, credit_minor: int = 0) -> User:
    phone = f"1{uuid.uuid4().int % 10**10:010d}"
    command = RegisterUser(phone, RIDER_PASSWORD, "Test User", role)
    user = accounts.register(platform.uow(), platform.passwords, command)
    if credit_minor:
        accounts.grant_promotion(platform.uow(), user.id, "CNY", credit_minor, f"test:{user.id}")
    return user


def make_bike(
    platform: Platform, lock_id: str, *, online: bool = True, city: str = CITY
) -> tuple[Lock, Asset]:
    """A bike and its lock in the database only (no broker account)."""
    make_city(platform, city)
    lock = Lock(id=lock_id, signing_key=uuid.uuid4().bytes * 2)
    with platform.uow() as uow:
        uow.locks.add(lock)
        uow.locks.record_presence(lock_id, online, 1, datetime.now(UTC))
        uow.commit()
    asset = assets.register_asset(
        platform.uow(), RegisterVehicle(f"BK-{lock_id}", AssetKind.BIKE, city, lock_id)
    )
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


class RecordingLockCommands:
    """Stands in for the broker: keeps the lock commands it was asked to send, an unlock
    (or release) as (lock id, command id), an acknowledgement as ("ack", command)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, command: LockCommand) -> None:
        match command:
            case Unlock() | Release() | Ring():
                self.sent.append((command.lock_id, command.command_id))
            case AcknowledgeEvent():
                self.sent.append(("ack", command))
            case _:
                assert_never(command)


class UnreachableLocks:
    """A broker that takes no command: every unlock fails at once (`lock_unreachable`)."""

    def send(self, command: LockCommand) -> None:
        raise LockCommandError("the broker is not answering")


def rider_who_tried(platform: Platform, asset: Asset) -> User:
    """A rider who scanned `asset` a moment ago and whose unlock failed: one who may report
    damage on it (rental.domain.fair_use), with nothing else changed."""
    rider = make_user(platform)
    command = RequestUnlock(rider.id, asset.code, uuid.uuid4().hex)
    tried = request_unlock(
        platform.uow(), UnreachableLocks(), command, utc_now(), Unlocking(timedelta(seconds=10))
    )
    assert tried.failure_reason is FailureReason.LOCK_UNREACHABLE, tried
    return rider


def started_rental(
    platform: Platform, lock_id: str, city: str = CITY, credit_minor: int = 1000
) -> tuple[User, Rental, RecordingLockCommands]:
    """A rider's rental of a new bike, requested a minute ago and still unlocking."""
    rider = make_user(platform, credit_minor=credit_minor)
    make_bike(platform, lock_id, city=city)
    channel = RecordingLockCommands()
    rental = request_unlock(
        platform.uow(),
        channel,
        RequestUnlock(rider.id, f"BK-{lock_id}", uuid.uuid4().hex),
        ago(60),
        Unlocking(timedelta(seconds=10)),
    )
    return rider, rental, channel


def unlock(platform: Platform, lock_id: str, rental: Rental, seconds_ago: float = 50) -> None:
    """The lock confirms the rental's unlock command."""
    opened = Event(
        1, 1, ms(ago(seconds_ago)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id)
    )
    reports.handle_event(platform.uow(), event_reported(lock_id, opened, utc_now()))
