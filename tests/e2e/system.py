"""The whole platform in one process for end-to-end tests: a real HTTP server, lockctl, a
planning worker and virtual locks, all on the real database and broker."""

import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from werkzeug.serving import make_server

from rental.adapters.locks.mqtt import BrokerAddress
from rental.adapters.locks.provisioning import LockAccountService
from rental.adapters.plan_requests import PlanRequestWakeups
from rental.adapters.sandbox_gateway import SandboxGateway
from rental.app import create_app
from rental.bootstrap import Platform, libpq_url, utc_now
from rental.domain.riders import Role
from rental.entrypoints.lock_consumer import LockController
from rental.entrypoints.planning_worker import PlanningWorker
from rental.services import wallet
from rental.services.rebalancing_runs import PLAN_REQUESTS_CHANNEL, Planner
from sandboxpay.server import create_gateway_app
from simulator.fleet import LockSecrets, SimulatedLock
from simulator.lock import Faults
from tests.helpers import CITY, RIDER_PASSWORD, eventually, make_city, make_user

SHANGHAI = (121.47, 31.23)  # where the test city's locks start


@dataclass
class Rider:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class LiveSystem:
    """`broker`: the platform's account, which lockctl holds: it makes the lock accounts
    the API asks for (rental.adapters.locks.provisioning), as in production."""

    def __init__(self, platform: Platform, broker: BrokerAddress) -> None:
        self.platform = platform
        self.broker = broker
        self._server = make_server("127.0.0.1", 0, create_app(platform=platform), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        platform.config.PUBLIC_BASE_URL = self.url  # where the gateway sends notifications
        self.gateway_secret = uuid.uuid4().hex.encode()
        self.gateway_app = create_gateway_app(self.gateway_secret)
        self._gateway = make_server("127.0.0.1", 0, self.gateway_app, threaded=True)
        self.gateway_url = f"http://127.0.0.1:{self._gateway.server_port}"
        platform.payment_gateway = SandboxGateway(self.gateway_url, self.gateway_secret)
        group = f"e2e-{uuid.uuid4().hex[:8]}"
        self.lockctl = LockController(
            broker,
            platform.uow,
            utc_now,
            f"lockctl-{group}",
            persistent_session=False,
            share_group=group,
            answer_grace=timedelta(milliseconds=300),
        )
        self.lock_accounts = LockAccountService(broker, f"lockctl-{group}-accounts")
        # Plans operators ask for; no nightly schedule, which would queue plans of its own.
        self.planning = PlanningWorker(
            platform.uow,
            lambda: platform.now(),  # a test that moves the platform's clock moves it too
            Planner(platform.config.service_policy(), platform.routing),
            PlanRequestWakeups(libpq_url(platform.config.DATABASE_URL), PLAN_REQUESTS_CHANNEL),
            nightly=False,
        )
        self.http = requests.Session()
        self.locks: list[SimulatedLock] = []

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        threading.Thread(target=self._gateway.serve_forever, daemon=True).start()
        self.lockctl.start()
        self.lock_accounts.start()
        self.planning.start()

    def stop(self) -> None:
        self.planning.stop()
        self.lock_accounts.stop()
        self.lockctl.stop()
        self._server.shutdown()
        self._gateway.shutdown()

    def retire_locks(self) -> list[str]:
        for lock in self.locks:
            lock.go_offline()
        ids = [lock.lock_id for lock in self.locks]
        self.locks.clear()
        return ids

    # -- HTTP --------------------------------------------------------------------

    def post(self, path: str, body: object = None, who: Rider | None = None) -> requests.Response:
        return self.http.post(self.url + path, json=body, headers=who.headers if who else {})

    def put(self, path: str, body: object, who: Rider | None = None) -> requests.Response:
        return self.http.put(self.url + path, json=body, headers=who.headers if who else {})

    def patch(self, path: str, body: object, who: Rider | None = None) -> requests.Response:
        return self.http.patch(self.url + path, json=body, headers=who.headers if who else {})

    def get(self, path: str, who: Rider | None = None) -> requests.Response:
        return self.http.get(self.url + path, headers=who.headers if who else {})

    def sign_in(self, phone: str) -> str:
        answer = self.post("/api/v1/auth/token", {"phone": phone, "password": RIDER_PASSWORD})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def rider(self, credit_minor: int = 1000) -> Rider:
        user = make_user(self.platform, Role.RIDER, credit_minor)
        return Rider(user.id, self.sign_in(user.phone))

    def operator(self) -> Rider:
        user = make_user(self.platform, Role.OPERATOR)
        return Rider(user.id, self.sign_in(user.phone))

    def balance(self, rider: Rider) -> int:
        wallets = wallet.wallet_summaries(self.platform.uow(), rider.id, wallet_floor_minor=0)
        return next((w.balance_minor for w in wallets if w.currency == "CNY"), 0)

    # -- the fleet -----------------------------------------------------------------

    def bike(
        self,
        kind: str = "bike",
        city: str = CITY,
        at: tuple[float, float] = SHANGHAI,
        **faults: object,
    ) -> tuple[str, SimulatedLock]:
        """Provision a lock and a bike through the operator API, and bring the lock online
        at `at` (lon, lat), where provisioning told it to connect."""
        operator, device = self._provision()
        code = f"BK{uuid.uuid4().hex[:8].upper()}"
        asset = self.post(
            "/api/v1/ops/assets",
            {"code": code, "kind": kind, "lock_id": device["lock_id"], "city_id": city},
            operator,
        )
        assert asset.status_code == 201, asset.text
        lock = self.go_online(device, at=at)
        lock.logic.faults = Faults(**faults)  # type: ignore[arg-type]
        return code, lock

    def cabinet(self, kind: str, items: dict[int, str], slots: int = 6) -> SimulatedLock:
        """Provision a cabinet and register its items through the operator API; online."""
        operator, device = self._provision()
        cabinet = {"lock_id": device["lock_id"], "city_id": CITY, "kind": kind, "slots": slots}
        registered = self.post("/api/v1/ops/cabinets", cabinet, operator)
        assert registered.status_code == 201, registered.text
        for slot, code in items.items():
            item = {"code": code, "kind": kind, "city_id": CITY, "cabinet_id": device["lock_id"]}
            answer = self.post("/api/v1/ops/assets", {**item, "slot": slot}, operator)
            assert answer.status_code == 201, answer.text
        return self.go_online(device, {n: items.get(n) for n in range(1, slots + 1)})

    def _provision(self) -> tuple[Rider, dict[str, Any]]:
        make_city(self.platform)
        operator = self.operator()
        provisioned = self.post(
            "/api/v1/ops/locks", {"lock_id": f"T-{uuid.uuid4().hex[:12]}"}, operator
        )
        assert provisioned.status_code == 201, provisioned.text
        return operator, dict(provisioned.json())

    def go_online(
        self,
        device: dict[str, Any],
        slots: dict[int, str | None] | None = None,
        at: tuple[float, float] = SHANGHAI,
    ) -> SimulatedLock:
        secrets = LockSecrets(
            device["lock_id"],
            device["mqtt"]["password"],
            bytes.fromhex(device["signing_key"]),
            *at,
            slots,
            broker_url=device["mqtt"]["broker"],
            broker_ca=device["mqtt"]["ca"],
        )
        lock = SimulatedLock(secrets, self.broker)
        self.locks.append(lock)
        lock.go_online()
        self.wait_presence(lock.lock_id, online=True)
        return lock

    def wait_presence(self, lock_id: str, *, online: bool) -> None:
        def seen() -> bool:
            with self.platform.uow() as uow:
                lock = uow.locks.get(lock_id)
            return lock is not None and lock.online is online

        eventually(seen, what=f"lock {lock_id} online={online}")

    # -- riding --------------------------------------------------------------------

    def scan(self, rider: Rider, code: str, key: str | None = None) -> requests.Response:
        body = {"qr": f"https://ride.example/q/{code}", "idempotency_key": key or uuid.uuid4().hex}
        return self.post("/api/v1/rentals", body, rider)

    def rental(self, rider: Rider, rental_id: str, wait: float = 0) -> dict[str, object]:
        answer = self.get(f"/api/v1/rentals/{rental_id}?wait={wait}", rider)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_state(
        self, rider: Rider, rental_id: str, state: str, timeout: float = 8
    ) -> dict[str, object]:
        found: dict[str, object] = {}

        def reached() -> bool:
            found.update(self.rental(rider, rental_id))
            return found["state"] == state

        eventually(reached, timeout, f"rental {rental_id} {state}")
        return found

    # -- payments --------------------------------------------------------------------

    def pay(self, order: dict[str, object], **how: object) -> None:
        """The rider pays (or declines) on the gateway's page."""
        answer = self.http.post(f"{order['pay_url']}", json={"outcome": "success", **how})
        assert answer.ok, answer.text

    def gateway_faults(self, **faults: object) -> None:
        assert self.http.post(f"{self.gateway_url}/control", json=faults).ok

    def wait_order(self, rider: Rider, order_id: object, state: str) -> dict[str, object]:
        found: dict[str, object] = {}

        def reached() -> bool:
            found.update(self.get(f"/api/v1/payments/{order_id}", rider).json())
            return found["state"] == state

        eventually(reached, what=f"payment {order_id} {state}")
        return found
