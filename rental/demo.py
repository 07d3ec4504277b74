"""The demo city: Shanghai around People's Square, a rider with credit, a fleet of bikes.

Idempotent: running it again keeps what exists and only tops up the fleet file.
"""

import json
import random
import uuid
from pathlib import Path

from rental.bootstrap import Platform
from rental.domain.errors import Conflict
from rental.domain.pricing import Tariff
from rental.domain.riders import Role
from rental.services import accounts, fleet

CITY_ID = "demo"
CENTER = (121.4737, 31.2304)  # (lon, lat)
RIDER = {"phone": "13800000001", "password": "demo-rider-pass", "name": "Demo Rider"}
OPERATOR = {"phone": "13900000001", "password": "demo-operator-pass", "name": "Demo Operator"}
WELCOME_CREDIT_MINOR = 2000  # 20.00 CNY
DEMO_PRICES = {
    "bike": Tariff(
        "CNY", 0, rate_per_interval_minor=150, interval_seconds=1800, daily_cap_minor=2000
    ),
    "ebike": Tariff("CNY", 100, rate_per_interval_minor=300, interval_seconds=1800),
    "power_bank": Tariff("CNY", 0, 200, 3600, free_seconds=300, daily_cap_minor=2000),
    "umbrella": Tariff("CNY", 0, 100, 3600, daily_cap_minor=500),
    "basketball": Tariff("CNY", 0, 300, 3600, daily_cap_minor=1500),
}


def seed_demo(platform: Platform, fleet_file: str, bikes: int) -> None:
    with platform.uow() as uow:
        if uow.cities.currency_of(CITY_ID) is None:
            uow.cities.add(CITY_ID, "Demo City (Shanghai)", "CNY", "Asia/Shanghai", *CENTER)
            for kind, tariff in DEMO_PRICES.items():
                uow.pricing_plans.publish(CITY_ID, kind, tariff)
            uow.commit()
    rider_id = _account(platform, RIDER, Role.RIDER)
    _account(platform, OPERATOR, Role.OPERATOR)
    accounts.grant_promotion(
        platform.uow(), rider_id, "CNY", WELCOME_CREDIT_MINOR, f"welcome:{rider_id}"
    )

    path = Path(fleet_file)
    locks = json.loads(path.read_text()) if path.exists() else []
    spread = random.Random(42)
    for number in range(len(locks) + 1, bikes + 1):
        credentials = fleet.provision_lock(
            platform.uow(), platform.broker_accounts, f"DEMO-L{number:04d}"
        )
        fleet.register_asset(
            platform.uow(), f"BK{number:05d}", "bike", credentials.lock_id, CITY_ID
        )
        locks.append(
            {
                "lock_id": credentials.lock_id,
                "mqtt_password": credentials.mqtt_password,
                "signing_key": credentials.signing_key_hex,
                "lon": round(CENTER[0] + spread.uniform(-0.01, 0.01), 6),
                "lat": round(CENTER[1] + spread.uniform(-0.01, 0.01), 6),
                "asset_code": f"BK{number:05d}",
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(locks, indent=1))
    path.chmod(0o600)


def _account(platform: Platform, who: dict[str, str], role: Role) -> uuid.UUID:
    try:
        return accounts.register(
            platform.uow(), who["phone"], who["password"], who["name"], role
        ).id
    except Conflict:
        with platform.uow() as uow:
            user = uow.users.by_phone(who["phone"])
        assert user is not None
        return user.id
