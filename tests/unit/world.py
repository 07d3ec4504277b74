"""A small world in memory for the use-case tests (`test_uc_*.py`): a city with prices and
a service area, bikes and cabinets with their locks, riders with money, and the lock
reports that drive rides, all on one fake `Store`: no database, no broker.

Time stands still unless a test moves it: the store's clock (PostgreSQL's now()) reads
`World.now`, and every report names its own times. A ride from `riding()` was requested
at START and confirmed by its lock as (boot 5, seq 10) at OPENED.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from rental.domain.cities import City
from rental.domain.fleet import Asset, AssetKind, Lock
from rental.domain.ledger import AccountKind, rider_account
from rental.domain.pricing import Tariff
from rental.domain.rentals import Rental
from rental.domain.riders import Role, User
from rental.domain.zones import Zone, ZoneKind
from rental.services import accounts, assets, lock_events
from rental.services.commands.assets import RegisterCabinet, RegisterItem, RegisterVehicle
from rental.services.commands.rides import RequestUnlock
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import (
    EventIdentity,
    LockEventKind,
    LockEventReported,
    LockReport,
    PresenceReported,
    ReportRefused,
    ReportSettings,
    TelemetryReported,
)
from rental.services.rentals import Unlocking, fail_unanswered_unlocks, request_unlock
from tests.unit.fakes import FakeUnitOfWork, RecordingLockCommands, Store

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OPENED = START + timedelta(seconds=5)
UNLOCK_BOOT, UNLOCK_SEQ = 5, 10
UNLOCK_TIMEOUT = timedelta(seconds=30)
ARRIVAL = timedelta(seconds=1)  # how long a report takes to reach the platform

CITY = "unitcity"
OTHER_CITY = "othercity"
HOME = (121.4737, 31.2304)  # (lon, lat), inside the service area
OUTSIDE = (121.6000, 31.2304)  # east of it
SERVICE_AREA = {
    "type": "Polygon",
    "coordinates": [
        [[121.40, 31.17], [121.55, 31.17], [121.55, 31.29], [121.40, 31.29], [121.40, 31.17]]
    ],
}

# As the integration tests price them: 1.50 CNY per started half hour, no unlock fee.
BIKE_PRICE = Tariff("CNY", 0, rate_per_interval_minor=150, interval_seconds=1800)
# 2.00 CNY an hour, at most 20.00 CNY a day; 99.00 CNY if never returned.
POWER_BANK_PRICE = Tariff("CNY", 0, 200, 3600, daily_cap_minor=2000, replacement_price_minor=9900)


class World:
    def __init__(self, *, bike_price: Tariff = BIKE_PRICE, wallet_floor_minor: int = 0) -> None:
        self.now = START
        self.store = Store(clock=lambda: self.now)
        self.commands = RecordingLockCommands()
        self.settings = ReportSettings(wallet_floor_minor=wallet_floor_minor)
        with self.uow() as unit:
            for city_id in (CITY, OTHER_CITY):
                unit.cities.add(City(city_id, city_id.title(), "Asia/Shanghai", "CNY", "en", *HOME))
                unit.pricing_plans.publish(city_id, "power_bank", POWER_BANK_PRICE)
            unit.pricing_plans.publish(CITY, "bike", bike_price)
            unit.zones.replace(CITY, [Zone(ZoneKind.SERVICE_AREA, "inner city", SERVICE_AREA)])
            unit.commit()

    def uow(self) -> FakeUnitOfWork:
        """A new unit of work on the world's store, as `Platform.uow` hands out."""
        return FakeUnitOfWork(self.store)

    # --- the fleet and the riders ---------------------------------------------------------

    def add_lock(self, lock_id: str) -> Lock:
        """A lock online since START, closed, charged, at HOME."""
        lock = Lock(lock_id, f"key-of-{lock_id}".encode())
        with self.uow() as unit:
            unit.locks.add(lock)
            unit.locks.record_presence(lock_id, True, 1, START)
            unit.locks.record_seen(
                lock_id, START, locked=True, battery_pct=80, lon=HOME[0], lat=HOME[1]
            )
            unit.commit()
        return lock

    def add_bike(self, lock_id: str) -> Asset:
        self.add_lock(lock_id)
        command = RegisterVehicle(f"BK-{lock_id}", AssetKind.BIKE, CITY, lock_id)
        return assets.register_asset(self.uow(), command)

    def add_cabinet(
        self, lock_id: str, kind: str = "power_bank", city_id: str = CITY, slots: int = 4
    ) -> str:
        self.add_lock(lock_id)
        assets.register_cabinet(
            self.uow(), RegisterCabinet(lock_id, city_id, AssetKind(kind), slots)
        )
        return lock_id

    def add_item(
        self, code: str, cabinet_id: str, slot: int, kind: str = "power_bank", city_id: str = CITY
    ) -> Asset:
        command = RegisterItem(code, AssetKind(kind), city_id, cabinet_id, slot)
        return assets.register_asset(self.uow(), command)

    def add_rider(self, credit_minor: int = 1000) -> User:
        rider = User(uuid.uuid4(), f"1{uuid.uuid4().int % 10**10:010d}", "Rider", Role.RIDER, "-")
        with self.uow() as unit:
            unit.users.add(rider)
            unit.commit()
        if credit_minor:
            accounts.grant_promotion(
                self.uow(), rider.id, "CNY", credit_minor, f"welcome:{rider.id}"
            )
        return rider

    # --- rides ----------------------------------------------------------------------------

    def request(self, rider: User, asset: Asset, at: datetime = START) -> Rental:
        """The rider scans the asset at `at`: a rental waiting for its lock's answer."""
        command = RequestUnlock(rider.id, asset.code, uuid.uuid4().hex)
        return request_unlock(self.uow(), self.commands, command, at, Unlocking(UNLOCK_TIMEOUT))

    def riding(self, lock_id: str = "L-ride", credit_minor: int = 1000) -> tuple[User, Rental]:
        """A new bike's ride, requested at START and confirmed at OPENED as (5, 10)."""
        asset = self.add_bike(lock_id)
        rider = self.add_rider(credit_minor)
        rental = self.request(rider, asset)
        self.report(unlocked(rental))
        return rider, self.rental(rental)

    def time_out(self, rental: Rental) -> None:
        """Its unlock expires unanswered: the rental fails with `timeout`."""
        assert fail_unanswered_unlocks(self.uow(), START + timedelta(minutes=5), timedelta(0)) == [
            rental.id
        ]

    def report(self, report: LockReport) -> AcknowledgeEvent | None:
        """What the lock consumer does with a decoded report."""
        return lock_events.apply(self.uow, report, self.settings)

    # --- what the world holds now ---------------------------------------------------------

    def rental(self, rental: Rental) -> Rental:
        with self.uow() as unit:
            found = unit.rentals.get(rental.id)
        assert found is not None
        return found

    def lock(self, lock_id: str) -> Lock:
        with self.uow() as unit:
            found = unit.locks.get(lock_id)
        assert found is not None
        return found

    def asset(self, asset: Asset) -> Asset:
        with self.uow() as unit:
            found = unit.assets.get(asset.id)
        assert found is not None
        return found

    def asset_by_code(self, code: str) -> Asset:
        with self.uow() as unit:
            found = unit.assets.by_code(code)
        assert found is not None
        return found

    def wallet(self, rider: User) -> int:
        return self._balance(AccountKind.RIDER_WALLET, rider)

    def debt(self, rider: User) -> int:
        return -self._balance(AccountKind.RIDER_RECEIVABLE, rider)

    def score(self, rider: User) -> int:
        with self.uow() as unit:
            return unit.credit.score(rider.id)

    def credit_reasons(self, rider: User) -> list[str]:
        """The reasons of the rider's credit events, oldest first."""
        return [e.reason for e in self.store.credit_events if e.user_id == rider.id]

    def needs_retrieval(self, asset: Asset) -> bool:
        return self.store.assets[asset.id].needs_retrieval

    def _balance(self, kind: AccountKind, rider: User) -> int:
        with self.uow() as unit:
            return unit.ledger.balance(rider_account(kind, str(rider.id), "CNY"))


# --- reports, as a decoder makes them -------------------------------------------------------


def event(
    lock_id: str,
    boot: int,
    seq: int,
    kind: LockEventKind,
    at: datetime | None,
    *,
    received_at: datetime | None = None,
    **fields: Any,
) -> LockEventReported:
    """An event made at `at` by the lock's clock, arriving ARRIVAL later unless told."""
    arrived = received_at or (at or START) + ARRIVAL
    return LockEventReported(lock_id, boot, seq, kind, at, arrived, **fields)


def unlocked(
    rental: Rental, at: datetime = OPENED, boot: int = UNLOCK_BOOT, seq: int = UNLOCK_SEQ
) -> LockEventReported:
    """The rental's lock confirms its unlock command."""
    command = str(rental.unlock_command_id)
    return event(rental.lock_id, boot, seq, LockEventKind.UNLOCKED, at, command_id=command)


def closed(
    lock_id: str, boot: int, seq: int, at: datetime, where: tuple[float, float] | None = HOME
) -> LockEventReported:
    """The rider closed the latch at `at`, at `where` (None: no fix)."""
    lon, lat = where if where is not None else (None, None)
    return event(lock_id, boot, seq, LockEventKind.LOCKED, at, lon=lon, lat=lat)


def telemetry(
    lock_id: str,
    boot: int,
    seq: int,
    at: datetime,
    *,
    locked: bool,
    where: tuple[float, float] | None = HOME,
    received_at: datetime | None = None,
    **fields: Any,
) -> TelemetryReported:
    lon, lat = where if where is not None else (None, None)
    arrived = received_at or at + ARRIVAL
    return TelemetryReported(lock_id, boot, seq, at, arrived, locked, lon, lat, **fields)


class JsonDecoder:
    """A tiny `ReportDecoder`: the topic is the lock's id, the payload a JSON object with
    `channel` ("evt", "telemetry" or "status") and the command's fields; times in ms since
    the epoch. `decoded` keeps the arrival times it was handed."""

    def __init__(self) -> None:
        self.decoded: list[datetime] = []

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> LockReport:
        self.decoded.append(received_at)
        message = self._parse(payload)
        try:
            match message.pop("channel"):
                case "evt":
                    kind = LockEventKind(message.pop("type"))
                    at = _time(message.pop("ts", None))
                    return LockEventReported(
                        topic, kind=kind, lock_time=at, received_at=received_at, **message
                    )
                case "telemetry":
                    at = _time(message.pop("ts", None))
                    return TelemetryReported(
                        topic, lock_time=at, received_at=received_at, **message
                    )
                case "status":
                    return PresenceReported(topic, received_at=received_at, **message)
                case other:
                    raise ReportRefused(f"no channel {other!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportRefused(f"not a lock report: {exc}") from exc

    def event_identity(self, topic: str, payload: bytes) -> EventIdentity | None:
        try:
            message = self._parse(payload)
        except ReportRefused:
            return None
        boot, seq = message.get("boot"), message.get("seq")
        if message.get("channel") != "evt" or not isinstance(boot, int) or not isinstance(seq, int):
            return None
        return EventIdentity(topic, boot, seq)

    @staticmethod
    def _parse(payload: bytes) -> dict[str, Any]:
        try:
            message = json.loads(payload)
        except ValueError as exc:
            raise ReportRefused("not JSON") from exc
        if not isinstance(message, dict):
            raise ReportRefused("not a JSON object")
        return message


def _time(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
