"""Settings, read from the environment (prefix-free names an operator already knows)."""

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from rental.domain.fleet import ServicePolicy


@dataclass
class Config:
    DATABASE_URL: str = ""
    MQTT_URL: str = ""
    SECRET_KEY: str = field(default_factory=lambda: secrets.token_hex(32))
    # Where QR codes point; the rider app lives here.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"
    UNLOCK_TIMEOUT_SECONDS: int = 10
    TOKEN_MAX_AGE_SECONDS: int = 7 * 24 * 3600
    DB_POOL_SIZE: int = 10
    # Spending stops here; a fare beyond it becomes debt. 0: no overdraft.
    WALLET_FLOOR_MINOR: int = 0
    PAYMENT_GATEWAY_URL: str = "http://127.0.0.1:8002"
    PAYMENT_GATEWAY_SECRET: str = ""
    # Below this charge a vehicle is hidden from riders until it is charged or swapped.
    LOW_BATTERY_PCT: int = 15
    # A lock not heard from for this long is treated as offline (heartbeats: every 15 min).
    LOCK_SILENCE_SECONDS: int = 35 * 60
    RESERVATION_MINUTES: int = 15
    # Published in GBFS system_information: where feed consumers report problems.
    FEED_CONTACT_EMAIL: str = "opendata@example.com"
    # GBFS vehicle_status is rendered at most once per this many seconds per process.
    VEHICLE_STATUS_TTL_SECONDS: int = 10
    # MDS: our provider id (from the MDS provider list; derived from the base URL if unset),
    # page size, and how long after an hour ends its trips and events are served.
    MDS_PROVIDER_ID: str = ""
    MDS_PAGE_SIZE: int = 1000
    MDS_SETTLE_SECONDS: int = 300
    # Locks' raw fixes and events (where bikes, so riders, went) are kept this long.
    LOCK_LOG_RETENTION_DAYS: int = 90
    # The web pages' map tiles, as a Leaflet URL template ({z}/{x}/{y}, {s} for subdomains),
    # and the attribution the tile provider asks for. Empty: maps without a base layer.
    MAP_TILE_URL: str = ""
    MAP_TILE_ATTRIBUTION: str = ""
    # Where the rider app's map opens when the phone does not share its position: "lon,lat".
    MAP_CENTER: str = "121.4737,31.2304"
    # The edge of input (rental/api/edge.py): the largest request body read, in bytes
    # (Flask's own setting: 413 beyond it), and how deeply a JSON body may nest.
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    MAX_JSON_DEPTH: int = 32
    # 1: every answer of a typed endpoint is checked against the model it declares in
    # /api/v1/openapi.json (the tests do, so the document cannot drift from the views).
    VALIDATE_RESPONSES: int = 0

    def service_policy(self) -> ServicePolicy:
        return ServicePolicy(self.LOW_BATTERY_PCT, timedelta(seconds=self.LOCK_SILENCE_SECONDS))

    @classmethod
    def from_environment(cls) -> "Config":
        config = cls()
        for name, default in vars(cls()).items():
            raw = os.environ.get(name)
            if raw is None:
                continue
            setattr(config, name, int(raw) if isinstance(default, int) else raw)
        return config
