"""A city in memory for the use cases' unit tests: builders of what a test needs (a city
with its service area and bike prices, bikes on their locks, cabinets with items, riders
with money, finished rides), written into one `Store`, and short reads of what the use
cases left there.

Riders are written straight into the store: `accounts.register` hashes a password, which
takes longer than all the rest of a test. A finished ride goes through the use cases'
own steps (the scan, the lock's confirmation as `rental.services.lock_events` applies it,
`rental.services.trips.end_trip`), without the lock's wire format.
"""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from rental.domain.cities import City
from rental.domain.fleet import Asset, AssetKind, Cabinet, Lock
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.mds import VehicleEvent
from rental.domain.pricing import PricingPlan, Tariff
from rental.domain.rentals import Rental, RentalState
from rental.domain.riders import Role, User
from rental.domain.trace import Fix
from rental.domain.zones import Zone, ZoneKind
from rental.services import accounts, assets, trips
from rental.services.commands.assets import RegisterCabinet, RegisterItem, RegisterVehicle
from rental.services.commands.rides import RequestUnlock
from rental.services.rentals import Unlocking, request_unlock
from rental.services.repositories.rides import LockFix
from tests.unit.fakes.ports import RecordingLockCommands
from tests.unit.fakes.store import Store
from tests.unit.fakes.unit_of_work import FakeUnitOfWork

CITY = "fakecity"
CURRENCY = "CNY"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 16:00 in Shanghai
# Around People's Square, Shanghai: (lon, lat).
HOME = (121.4737, 31.2304)
# A metre east of HOME, in degrees of longitude (at 31°N).
METRE_EAST = 1 / 95_300
BIKE_PRICE = Tariff(
    CURRENCY,
    unlock_fee_minor=100,
    rate_per_interval_minor=150,
    interval_seconds=1800,
    reservation_per_minute_minor=10,
    out_of_zone_fee_minor=500,
)
ITEM_PRICE = Tariff(
    CURRENCY, unlock_fee_minor=0, rate_per_interval_minor=100, interval_seconds=3600
)


def square(centre: tuple[float, float], half_side_degrees: float) -> dict[str, object]:
    """A GeoJSON Polygon, a square around `centre` (lon, lat)."""
    lon, lat = centre
    west, east = lon - half_side_degrees, lon + half_side_degrees
    south, north = lat - half_side_degrees, lat + half_side_degrees
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# Some 6 km each way around HOME.
SERVICE_AREA = Zone(ZoneKind.SERVICE_AREA, "inner city", square(HOME, 0.06))


class World:
    """One city, `CITY`, whose clock (PostgreSQL's now()) reads `now`: with its service
    area and a current bike price (`BIKE_PRICE`), and what a test adds."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.store = Store(clock=lambda: self.now)
        self._numbers = itertools.count(1)
        self._seqs = itertools.count(1)  # the locks' report numbers, boot 1
        self.add_city(CITY)
        self.publish("bike", BIKE_PRICE)
        with self.uow() as unit:
            unit.zones.replace(CITY, [SERVICE_AREA])
            unit.commit()

    def uow(self) -> FakeUnitOfWork:
        """A unit of work of its own on the one store, as `Platform.uow()` gives."""
        return FakeUnitOfWork(self.store)

    # --- the city -------------------------------------------------------------------

    def add_city(self, city_id: str, currency: str = CURRENCY, name: str = "Fake City") -> None:
        with self.uow() as unit:
            unit.cities.add(City(city_id, name, "Asia/Shanghai", currency, "en", *HOME))
            unit.commit()

    def publish(
        self,
        kind: str,
        tariff: Tariff,
        deposit_minor: int = 0,
        deposit_waiver_score: int | None = None,
        city_id: str = CITY,
    ) -> PricingPlan:
        with self.uow() as unit:
            plan = unit.pricing_plans.publish(
                city_id, kind, tariff, deposit_minor, deposit_waiver_score
            )
            unit.commit()
        return plan

    # --- the fleet ------------------------------------------------------------------

    def lock(
        self,
        *,
        metres_east: float = 0.0,
        battery: int | None = 80,
        online: bool = True,
        seen: datetime | None = None,
        locked: bool | None = True,
        located: bool = True,
    ) -> Lock:
        """A provisioned lock that connected and last reported at `seen` (default: now)."""
        lock = Lock(f"L-{next(self._numbers):04d}", b"k" * 32)
        at = seen or self.now
        with self.uow() as unit:
            unit.locks.add(lock)
            unit.locks.record_presence(lock.id, online, 1, at)
            lon, lat = (HOME[0] + metres_east * METRE_EAST, HOME[1]) if located else (None, None)
            unit.locks.record_seen(
                lock.id, at, locked=locked, battery_pct=battery, lon=lon, lat=lat
            )
            unit.commit()
            stored = unit.locks.get(lock.id)
        assert stored is not None
        return stored

    def bike(
        self,
        *,
        kind: AssetKind = AssetKind.BIKE,
        city_id: str = CITY,
        metres_east: float = 0.0,
        battery: int | None = 80,
        online: bool = True,
        seen: datetime | None = None,
        locked: bool | None = True,
        located: bool = True,
    ) -> Asset:
        """A vehicle on a lock of its own, coded `BK-<lock id>`, `metres_east` of HOME."""
        lock = self.lock(
            metres_east=metres_east,
            battery=battery,
            online=online,
            seen=seen,
            locked=locked,
            located=located,
        )
        command = RegisterVehicle(f"BK-{lock.id}", kind, city_id, lock.id)
        return assets.register_asset(self.uow(), command)

    def cabinet(self, kind: AssetKind = AssetKind.UMBRELLA, slots: int = 4) -> Cabinet:
        """A cabinet at HOME, for items of `kind`, priced by `ITEM_PRICE`."""
        lock = self.lock(locked=None)
        with self.uow() as unit:
            if not unit.pricing_plans.current(CITY, kind.value):
                unit.pricing_plans.publish(CITY, kind.value, ITEM_PRICE)
                unit.commit()
        return assets.register_cabinet(self.uow(), RegisterCabinet(lock.id, CITY, kind, slots))

    def item(self, cabinet: Cabinet, slot: int) -> Asset:
        code = f"IT-{cabinet.lock_id}-{slot}"
        command = RegisterItem(code, cabinet.kind, cabinet.city_id, cabinet.lock_id, slot)
        return assets.register_asset(self.uow(), command)

    # --- riders ---------------------------------------------------------------------

    def rider(
        self, credit_minor: int = 0, *, score: int | None = None, role: Role = Role.RIDER
    ) -> User:
        """A rider (no password: signing in is `accounts`' own test) with a welcome credit."""
        number = next(self._numbers)
        user = User(uuid.uuid4(), f"139{number:08d}", f"Rider {number}", role, "-")
        with self.uow() as unit:
            unit.users.add(user)
            unit.commit()
        if score is not None:
            self.store.users[user.id].credit_score = score
        if credit_minor:
            accounts.grant_promotion(self.uow(), user.id, CURRENCY, credit_minor, f"w:{user.id}")
        return user

    def balance(
        self, user: User, kind: AccountKind = AccountKind.RIDER_WALLET, currency: str = CURRENCY
    ) -> int:
        with self.uow() as unit:
            return unit.ledger.balance(AccountRef(kind, currency, str(user.id)))

    def platform_balance(self, kind: AccountKind, currency: str = CURRENCY) -> int:
        with self.uow() as unit:
            return unit.ledger.balance(AccountRef(kind, currency))

    def debt(self, user: User, currency: str = CURRENCY) -> int:
        return -self.balance(user, AccountKind.RIDER_RECEIVABLE, currency)

    def score(self, user: User) -> int:
        return self.store.users[user.id].credit_score

    # --- rides ----------------------------------------------------------------------

    def scan(
        self, rider: User, asset: Asset, at: datetime | None = None, key: str | None = None
    ) -> Rental:
        """The rider scans the asset at `at` (default: now); the lock is asked to open."""
        command = RequestUnlock(rider.id, asset.code, key or f"scan-{next(self._numbers):08d}")
        unlocking = Unlocking(timedelta(seconds=30))
        return request_unlock(
            self.uow(), RecordingLockCommands(), command, at or self.now, unlocking
        )

    def rider_who_rode(
        self, asset: Asset, minutes_ago: float = 5, rider: User | None = None
    ) -> User:
        """A rider (`rider`, or a new one) whose short ride on `asset` ended `minutes_ago`,
        so may report damage on it: the rental written straight into the store, as `ride`
        leaves it, without its fare or history (so even an asset with a flat battery or an
        open latch can have one)."""
        rider = rider or self.rider()
        ended = self.now - timedelta(minutes=minutes_ago)
        assert asset.device_id is not None
        rental = Rental(
            id=uuid.uuid4(),
            rider_id=rider.id,
            asset_id=asset.id,
            lock_id=asset.device_id,
            tariff=BIKE_PRICE,
            state=RentalState.ENDED,
            requested_at=ended - timedelta(minutes=10),
            idempotency_key=f"rode-{next(self._numbers):08d}",
            started_at=ended - timedelta(minutes=10),
            ended_at=ended,
            fare_minor=0,
        )
        with self.uow() as unit:
            unit.rentals.add(rental)
            unit.commit()
        return rider

    def ride(
        self,
        rider: User,
        asset: Asset,
        start: datetime,
        minutes: float,
        path: list[tuple[float, float]] | None = None,
    ) -> Rental:
        """A finished ride: scanned and opened at `start`, the lock reporting each point of
        `path` (lon, lat) at even steps and closing `minutes` later at its last point."""
        path = path or [HOME, (HOME[0] + 0.004, HOME[1])]
        rental = self.scan(rider, asset, start)
        assert rental.unlock_command_id is not None, rental.failure_reason
        end = start + timedelta(minutes=minutes)
        step = (end - start) / max(1, len(path) - 1)
        with self.uow() as unit:
            riding = unit.rentals.get(rental.id)
            assert riding is not None
            riding.confirm_unlock(start, 1, next(self._seqs))
            unit.rentals.save(riding)
            unit.vehicle_history.record(
                VehicleEvent.TRIP_START, start, asset_id=asset.id, rental_id=riding.id
            )
            for number, (lon, lat) in enumerate(path):
                at = start + step * number
                seq = next(self._seqs)
                unit.lock_log.record_fixes(
                    [LockFix(riding.lock_id, 1, seq, at, lon, lat, False, 80, 5.0)]
                )
                unit.locks.record_seen(riding.lock_id, at, lon=lon, lat=lat)
            unit.locks.record_seen(riding.lock_id, end, locked=True)
            trips.end_trip(unit, riding, end, Fix(end, *path[-1]), 0)
            unit.commit()
        return riding
