"""The platform as separate processes for fault tests: the API on a thread of this
process, lockctl and the simulator as children, the real database and broker.

Bikes are provisioned through the operator API, and the simulator's fleet file is
written from the answers, as a city operator would load real locks.
"""

import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from lockctl.broker_accounts import lockctl_username, managing_accounts
from lockctl.mqtt import BrokerAddress
from rental.adapters.tables import assets, lock_events, lock_positions, locks, rentals
from rental.app import create_app
from rental.bootstrap import Platform
from rental.config import Config
from rental.domain.pricing import Tariff
from rental.domain.riders import Role
from tests.faults.harness import Lockctl, Services, Simulator
from tests.faults.truth import LockImpostor, Wiretap
from tests.helpers import RIDER_PASSWORD, make_user

T = TypeVar("T")

# Short enough for a suite of a few minutes; the sweeper adds its own grace on top.
UNLOCK_TIMEOUT_SECONDS = 3
# A bike's price: 1.50 per started half hour, and a fee for parking outside the area.
FARE = Tariff(
    "CNY", 0, rate_per_interval_minor=150, interval_seconds=1800, out_of_zone_fee_minor=500
)

METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator


@dataclass(frozen=True)
class Bike:
    code: str
    lock_id: str
    city_id: str
    mqtt_password: str
    signing_key: str
    lon: float
    lat: float

    def fleet_entry(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "mqtt_password": self.mqtt_password,
            "signing_key": self.signing_key,
            "lon": self.lon,
            "lat": self.lat,
        }


@dataclass
class Rider:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class City:
    id: str
    lon: float
    lat: float
    bikes: list[Bike] = field(default_factory=list)


class ApiServer:
    def __init__(self, platform: Platform) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per monitor sample
        self._server = make_server("127.0.0.1", 0, create_app(platform=platform), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


class FaultSystem:
    def __init__(
        self,
        database_url: str,
        mqtt_url: str,
        *,
        resend_s: float = 1.0,
        heartbeat_s: float = 5.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.settings = {
            "DATABASE_URL": database_url,
            "MQTT_URL": mqtt_url,
            "SECRET_KEY": "faults-secret",
            "UNLOCK_TIMEOUT_SECONDS": str(UNLOCK_TIMEOUT_SECONDS),
            "VEHICLE_STATUS_TTL_SECONDS": "0",  # the feed as it is, not as it was 10 s ago
            **(settings or {}),
        }
        config = Config.from_environment()
        for name, value in self.settings.items():
            default = getattr(config, name, "")
            setattr(config, name, int(value) if isinstance(default, int) else value)
        self.platform = Platform(config)
        self.broker = BrokerAddress.from_url(mqtt_url)
        self.services = Services(database_url, mqtt_url)
        self.api = ApiServer(self.platform)
        config.PUBLIC_BASE_URL = self.api.url
        self.wiretap = Wiretap(self.broker)
        self.group = f"faults-{uuid.uuid4().hex[:8]}"
        self.lockctls: dict[str, Lockctl] = {}
        self.simulators: list[Simulator] = []
        self.resend_s = resend_s
        self.heartbeat_s = heartbeat_s
        self.http = requests.Session()
        self._operator: Rider | None = None
        # Rentals the test started, and when (wall time) it told a lock to close.
        self.rental_ids: list[str] = []
        self.closes: dict[str, list[tuple[float, float]]] = {}
        self.provisioned: list[str] = []  # lock ids, whose broker accounts go at the end

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.api.start()
        self.wiretap.start()
        self.start_lockctl("a")

    def stop(self) -> None:
        for simulator in self.simulators:
            simulator.stop()
        for lockctl in self.lockctls.values():
            lockctl.stop()
        self.wiretap.stop()
        self._forget_accounts()
        self.api.stop()
        self.platform.engine.dispose()
        self.platform.search_engine.dispose()

    def _forget_accounts(self) -> None:
        """The broker accounts this system made: its locks' and its lockctl instances'."""
        with managing_accounts(self.broker) as accounts:
            for lock_id in self.provisioned:
                accounts.delete_lock_account(lock_id)
            for lockctl in self.lockctls.values():
                accounts.delete_lockctl_account(lockctl_username(lockctl.instance))

    def start_lockctl(self, instance: str) -> Lockctl:
        lockctl = self.lockctls.get(instance)
        if lockctl is None:
            # Unique on the broker: lockctl's account (and client id) is lockctl-<instance>.
            unique = f"{self.group}-{instance}"
            lockctl = self.lockctls[instance] = Lockctl(unique, self.group, self.settings)
        lockctl.start()
        return lockctl

    def only_lockctl(self, instance: str = "a") -> None:
        """Exactly one lockctl running, as a test expects to find the system."""
        for name, lockctl in self.lockctls.items():
            if name != instance:
                lockctl.stop()
        if not self.lockctls[instance].alive:
            self.start_lockctl(instance)

    def reset_test(self) -> None:
        self.services.ensure_running()
        self.only_lockctl()
        for simulator in self.simulators:
            simulator.stop()
        self.simulators.clear()
        self.rental_ids.clear()
        self.closes.clear()

    # -- reading the database through outages ----------------------------------------

    def read(self, query: Callable[[Any], T], timeout: float = 60) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.platform.engine.connect() as connection:
                    return query(connection)
            except DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def rental(self, rental_id: str) -> dict[str, Any]:
        row = self.read(
            lambda c: c.execute(select(rentals).where(rentals.c.id == rental_id)).mappings().one()
        )
        return dict(row)

    def wait_rental(
        self, rental_id: str, states: str | Iterable[str], timeout: float = 30
    ) -> dict[str, Any]:
        wanted = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            row = self.rental(rental_id)
            if row["state"] in wanted:
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"rental {rental_id} is {row['state']}, not {wanted}")
            time.sleep(0.1)

    def lock_row(self, lock_id: str) -> dict[str, Any]:
        return dict(
            self.read(
                lambda c: c.execute(select(locks).where(locks.c.id == lock_id)).mappings().one()
            )
        )

    def stored_event(self, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        """The event (lock, boot, seq) as lockctl stored it, if it did."""
        return self._row(lock_events, lock_id, boot, seq)

    def stored_fix(self, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        return self._row(lock_positions, lock_id, boot, seq)

    def _row(self, table: Any, lock_id: str, boot: int, seq: int) -> dict[str, Any] | None:
        if not 0 <= seq < 2**63:
            return None  # beyond a bigint: never stored
        query = select(table).where(
            table.c.lock_id == lock_id, table.c.boot == boot, table.c.seq == seq
        )
        row = self.read(lambda c: c.execute(query).mappings().first())
        return None if row is None else dict(row)

    def eventually(self, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def table_exists(self, name: str) -> bool:
        return bool(
            self.read(lambda c: c.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar())
        )

    # -- HTTP -----------------------------------------------------------------------------

    def call(self, method: str, path: str, body: object = None, who: Rider | None = None):
        return self.http.request(
            method,
            self.api.url + path,
            json=body,
            headers=who.headers if who else {},
            timeout=30,
        )

    def operator(self) -> Rider:
        if self._operator is None:
            user = make_user(self.platform, Role.OPERATOR)
            self._operator = Rider(user.id, self._sign_in(user.phone))
        return self._operator

    def rider(self, credit_minor: int = 5000) -> Rider:
        user = make_user(self.platform, Role.RIDER, credit_minor)
        return Rider(user.id, self._sign_in(user.phone))

    def _sign_in(self, phone: str) -> str:
        answer = self.call(
            "POST", "/api/v1/auth/token", {"phone": phone, "password": RIDER_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def scan(self, rider: Rider, bike: Bike) -> dict[str, Any]:
        body = {"qr": f"{self.api.url}/q/{bike.code}", "idempotency_key": uuid.uuid4().hex}
        answer = self.call("POST", "/api/v1/rentals", body, rider)
        assert answer.status_code == 202, answer.text
        self.rental_ids.append(answer.json()["id"])
        return dict(answer.json())

    # -- the fleet ------------------------------------------------------------------------

    def city(
        self,
        rng: random.Random | None = None,
        zones: Callable[[float, float], dict[str, Any]] | None = None,
    ) -> City:
        """A city of its own for a test, somewhere near Shanghai; `zones(lon, lat)` gives
        its zones as GeoJSON, around its centre."""
        rng = rng or random.Random()
        city = City(f"fc-{uuid.uuid4().hex[:10]}", 121.0 + rng.random(), 30.9 + rng.random() * 0.6)
        with self.platform.uow() as uow:
            uow.cities.add(city.id, "Fault City", "CNY", "Asia/Shanghai", city.lon, city.lat)
            uow.pricing_plans.publish(city.id, "bike", FARE)
            uow.commit()
        if zones is not None:
            document = zones(city.lon, city.lat)
            answer = self.call("PUT", f"/api/v1/ops/zones/{city.id}", document, self.operator())
            assert answer.ok, answer.text
        return city

    def bikes(self, city: City, count: int, rng: random.Random | None = None) -> list[Bike]:
        rng = rng or random.Random()
        made = []
        for _ in range(count):
            lock_id = f"F-{uuid.uuid4().hex[:12]}"
            provisioned = self.call(
                "POST", "/api/v1/ops/locks", {"lock_id": lock_id}, self.operator()
            )
            assert provisioned.status_code == 201, provisioned.text
            self.provisioned.append(lock_id)
            device = provisioned.json()
            code = f"FB{uuid.uuid4().hex[:8].upper()}"
            body = {"code": code, "kind": "bike", "lock_id": lock_id, "city_id": city.id}
            registered = self.call("POST", "/api/v1/ops/assets", body, self.operator())
            assert registered.status_code == 201, registered.text
            lon = city.lon + rng.uniform(-0.001, 0.001)
            lat = city.lat + rng.uniform(-0.001, 0.001)
            bike = Bike(
                code, lock_id, city.id, device["mqtt"]["password"], device["signing_key"], lon, lat
            )
            made.append(bike)
        city.bikes.extend(made)
        return made

    def simulate(self, bikes: list[Bike], **options: float) -> Simulator:
        """A simulator process for these bikes; returns once the platform sees them online."""
        simulator = Simulator(
            [bike.fleet_entry() for bike in bikes],
            self.settings["MQTT_URL"],
            resend_s=options.get("resend_s", self.resend_s),
            heartbeat_s=options.get("heartbeat_s", self.heartbeat_s),
        )
        self.simulators.append(simulator)
        simulator.start()
        for bike in bikes:
            self.eventually(
                lambda b=bike: (
                    self.lock_row(b.lock_id)["online"] is True
                    and self.lock_row(b.lock_id)["position"] is not None
                ),
                f"lock {bike.lock_id} online with a position",
            )
        return simulator

    def close(self, simulator: Simulator, bike: Bike) -> tuple[float, float]:
        window = simulator.close(bike.lock_id)
        self.closes.setdefault(bike.lock_id, []).append(window)
        return window

    def impostor(self, bike: Bike) -> LockImpostor:
        return LockImpostor(self.broker, bike.lock_id, bike.mqtt_password, self.wiretap)

    def public_ids(self, city_id: str) -> dict[str, str]:
        rows = self.read(
            lambda c: c.execute(
                select(assets.c.public_id, assets.c.code).where(assets.c.city_id == city_id)
            ).all()
        )
        return {public_id: code for public_id, code in rows}

    def ride_route(
        self, bike: Bike, legs: int = 8, step_m: float = 3.0
    ) -> list[tuple[float, float]]:
        """A ride east from the bike's spot, `step_m` per leg: at a fix every 0.25 s, 3 m
        is 12 m/s, a fast bike (anything much faster is a GPS jump to the platform)."""
        step = step_m / (METRES_PER_DEGREE * math.cos(math.radians(bike.lat)))
        return [(bike.lon + step * n, bike.lat) for n in range(1, legs + 1)]
