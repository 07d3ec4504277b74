"""The platform as separate processes for fault tests: the API on a thread of this
process, lockctl and the simulator as children, the real database and broker.

Bikes are provisioned through the operator API, and the simulator's fleet file is
written from the answers, as a city operator would load real locks.
"""

import math
import random
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import requests
import requests.adapters

from rental.adapters.locks.broker_accounts import lockctl_username, managing_accounts
from rental.adapters.locks.mqtt import BrokerAddress
from rental.bootstrap import Platform
from rental.config import Config
from rental.domain.cities import City as CitySettings
from rental.domain.riders import Role
from rental.entrypoints.lock_consumer import telemetry_instance
from tests.faults.harness import Lockctl, Services, Simulator
from tests.faults.parts import (
    FARE,
    METRES_PER_DEGREE,
    UNLOCK_TIMEOUT_SECONDS,
    ApiServer,
    Bike,
    City,
    Rider,
)
from tests.faults.records import Records, eventually
from tests.faults.truth import LockImpostor, Wiretap
from tests.helpers import RIDER_PASSWORD, make_user, rate_limit_settings

__all__ = ["UNLOCK_TIMEOUT_SECONDS", "Bike", "City", "FaultSystem", "Rider", "Simulator"]


class FaultSystem(Records):
    """Starts, breaks and reads the whole platform; `Records` reads its database."""

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
            # One operator signs in for all the package's tests (minutes); how tokens expire
            # is tested in tests/e2e/test_sessions.py.
            "OPERATOR_ACCESS_TOKEN_SECONDS": "3600",
            # The soak's riders all sign in from 127.0.0.1: limits counted, never met.
            **rate_limit_settings(),
            **(settings or {}),
        }
        config = Config.from_environment()
        for name, value in self.settings.items():
            default = getattr(config, name, "")
            setattr(config, name, int(value) if isinstance(default, int) else value)
        self.platform = Platform(config)
        super().__init__(self.platform.engine)
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
        # The soak's riders share it: a connection each, not a pool of urllib3's default 10.
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
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
                telemetry = telemetry_instance(lockctl.instance)
                accounts.delete_lockctl_account(lockctl_username(telemetry))

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

    # -- HTTP -----------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, who: Rider | None = None
    ) -> requests.Response:
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
            uow.cities.add(
                CitySettings(
                    city.id, "Fault City", "Asia/Shanghai", "CNY", "en", city.lon, city.lat
                )
            )
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
            self.eventually(partial(self._heard, bike), f"lock {bike.lock_id} online, with a fix")
        return simulator

    def _heard(self, bike: Bike) -> bool:
        lock = self.lock_row(bike.lock_id)
        return lock["online"] is True and lock["position"] is not None

    def eventually(self, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
        eventually(check, what, timeout)

    def close(self, simulator: Simulator, bike: Bike) -> tuple[float, float]:
        window = simulator.close(bike.lock_id)
        self.closes.setdefault(bike.lock_id, []).append(window)
        return window

    def impostor(self, bike: Bike) -> LockImpostor:
        return LockImpostor(self.broker, bike.lock_id, bike.mqtt_password, self.wiretap)

    def ride_route(
        self, bike: Bike, legs: int = 8, step_m: float = 3.0
    ) -> list[tuple[float, float]]:
        """A ride east from the bike's spot, `step_m` per leg: at a fix every 0.25 s, 3 m
        is 12 m/s, a fast bike (anything much faster is a GPS jump to the platform)."""
        step = step_m / (METRES_PER_DEGREE * math.cos(math.radians(bike.lat)))
        return [(bike.lon + step * n, bike.lat) for n in range(1, legs + 1)]
