"""Settings, read from the environment (prefix-free names an operator already knows)."""

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from rental.domain.fair_use import HoldRules, PaymentOrderRules, ReportingRules
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
    # Fair use (rental.domain.fair_use). Damage reports: from riders who rode the asset
    # within the first number of minutes or tried to take it (a failed unlock, a hold)
    # within the second; at most so many per rider in any 24 hours.
    DAMAGE_REPORT_AFTER_RIDE_MINUTES: int = 30
    DAMAGE_REPORT_AFTER_TRY_MINUTES: int = 15
    DAMAGE_REPORTS_PER_DAY: int = 3
    # Payment orders waiting for their payment per rider, and how long one waits.
    OPEN_PAYMENTS_PER_RIDER: int = 3
    PAYMENT_ORDER_MINUTES: int = 30
    # So many holds cancelled within the window pause the rider's holds for a while.
    HOLD_CANCELS_BEFORE_PAUSE: int = 3
    HOLD_CANCEL_WINDOW_MINUTES: int = 60
    HOLD_PAUSE_MINUTES: int = 30

    def service_policy(self) -> ServicePolicy:
        return ServicePolicy(self.LOW_BATTERY_PCT, timedelta(seconds=self.LOCK_SILENCE_SECONDS))

    def reporting_rules(self) -> ReportingRules:
        return ReportingRules(
            after_ride=timedelta(minutes=self.DAMAGE_REPORT_AFTER_RIDE_MINUTES),
            after_try=timedelta(minutes=self.DAMAGE_REPORT_AFTER_TRY_MINUTES),
            per_day=self.DAMAGE_REPORTS_PER_DAY,
        )

    def payment_order_rules(self) -> PaymentOrderRules:
        return PaymentOrderRules(
            open_orders=self.OPEN_PAYMENTS_PER_RIDER,
            pending_for=timedelta(minutes=self.PAYMENT_ORDER_MINUTES),
        )

    def hold_rules(self) -> HoldRules:
        return HoldRules(
            cancels=self.HOLD_CANCELS_BEFORE_PAUSE,
            within=timedelta(minutes=self.HOLD_CANCEL_WINDOW_MINUTES),
            pause=timedelta(minutes=self.HOLD_PAUSE_MINUTES),
        )

    @classmethod
    def from_environment(cls) -> "Config":
        config = cls()
        for name, default in vars(cls()).items():
            raw = os.environ.get(name)
            if raw is None:
                continue
            setattr(config, name, int(raw) if isinstance(default, int) else raw)
        return config
