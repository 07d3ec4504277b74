"""The platform's API as a rider and a provider use it, through Flask's test client on the
test database: top-ups, withdrawals, the wallet, and a provider's notifications posted as
sent (raw body, headers)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.test import TestResponse

from rental.app import create_app
from rental.bootstrap import Platform
from rental.services.ports import PaymentGateway
from tests.helpers import RIDER_PASSWORD, make_user


@contextmanager
def gateway_in_use(platform: Platform, gateway: PaymentGateway) -> Iterator[None]:
    """`gateway` is the platform's default gateway while the block runs; after it, the one
    before is again and `gateway` is no longer registered."""
    first = platform.payment_gateway
    platform.payment_gateway = gateway
    try:
        yield
    finally:
        platform.payment_gateway = first
        platform.payment_gateways.pop(gateway.name, None)


class RiderApp:
    def __init__(self, platform: Platform) -> None:
        self.client = create_app(platform=platform).test_client()
        self.rider = make_user(platform)
        signed_in = {"phone": self.rider.phone, "password": RIDER_PASSWORD}
        answer = self.client.post("/api/v1/auth/token", json=signed_in)
        self._auth = {"Authorization": f"Bearer {answer.json['access_token']}"}

    def top_up(self, amount_minor: int) -> dict[str, Any]:
        body = {"amount_minor": amount_minor, "idempotency_key": uuid.uuid4().hex}
        answer = self.client.post("/api/v1/wallet/top-ups", json=body, headers=self._auth)
        assert answer.status_code == 201, answer.text
        return dict(answer.json)

    def deposit(self, city_id: str) -> dict[str, Any]:
        body = {"city_id": city_id, "kind": "bike", "idempotency_key": uuid.uuid4().hex}
        answer = self.client.post("/api/v1/deposits", json=body, headers=self._auth)
        assert answer.status_code == 201, answer.text
        return dict(answer.json)

    def refund_deposit(self, key: str) -> TestResponse:
        body = {"idempotency_key": key}
        return self.client.post("/api/v1/deposits/refunds", json=body, headers=self._auth)

    def deposit_held(self) -> int:
        wallets = self.client.get("/api/v1/wallet", headers=self._auth).json["wallets"]
        return int(wallets[0]["deposit_minor"]) if wallets else 0

    def withdraw(self, amount_minor: int, key: str | None = None) -> TestResponse:
        body = {"amount_minor": amount_minor, "idempotency_key": key or uuid.uuid4().hex}
        return self.client.post("/api/v1/wallet/withdrawals", json=body, headers=self._auth)

    def order(self, order_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/api/v1/payments/{order_id}", headers=self._auth).json)

    def balance(self) -> int:
        wallets = self.client.get("/api/v1/wallet", headers=self._auth).json["wallets"]
        return int(wallets[0]["balance_minor"]) if wallets else 0

    def notify(
        self, gateway: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> TestResponse:
        return self.client.post(
            f"/api/v1/payments/notify/{gateway}",
            data=body,
            content_type=content_type,
            headers=headers or {},
        )
