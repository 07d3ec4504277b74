"""Settings, read from the environment (prefix-free names an operator already knows)."""

import os
from dataclasses import dataclass
from datetime import timedelta

from rental.domain.damage_photos import PhotoRules
from rental.domain.fair_use import HoldRules, PaymentOrderRules, ReportingRules
from rental.domain.fleet import ServicePolicy
from rental.domain.sessions import TokenLifetimes


@dataclass
class Config:
    DATABASE_URL: str = ""
    # A streaming replica of DATABASE_URL for reads that may lag by its replay delay (GBFS
    # but vehicle_status, which the primary renders from the rows it keeps, MDS, nearby
    # search, operators' lists); empty: they read the primary too.
    READ_DATABASE_URL: str = ""
    # This process's broker account: mqtt://user:password@host:port, or mqtts:// for TLS,
    # verified against MQTT_CA_FILE (a PEM file; empty: the system's CAs). API workers get an
    # account that can only send lock commands and ask for lock accounts; lockctl and the
    # CLI the platform's, which manages accounts (docs/operations.md, "Broker accounts").
    MQTT_URL: str = ""
    MQTT_CA_FILE: str = ""
    # What provisioning hands locks (docs/lock-protocol.md §2): the broker's address as the
    # locks reach it, mqtts://host:port, and the PEM file of the CA that signs its
    # certificate (empty: locks trust their built-in CAs). No address: provisioning is 503.
    LOCK_BROKER_URL: str = ""
    LOCK_BROKER_CA_FILE: str = ""
    # Fernet keys, comma-separated, newest first, that seal locks' signing keys in the
    # database (rental/adapters/lock_keys.py). Required by the API and lockctl, like SECRET_KEY.
    LOCK_KEY_ENCRYPTION_KEYS: str = ""
    # Signs access tokens and MDS client tokens: every API worker and host needs the same
    # one, so it is required (the demo makes one in var/secrets); never a per-process default.
    SECRET_KEY: str = ""
    # Where QR codes point; the rider app lives here.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"
    UNLOCK_TIMEOUT_SECONDS: int = 10
    # How long access tokens and refresh tokens live. Operators can do more, so theirs are
    # shorter: an operator signs in again after a shift, a rider once a month of not riding.
    ACCESS_TOKEN_SECONDS: int = 15 * 60
    REFRESH_TOKEN_SECONDS: int = 30 * 24 * 3600
    OPERATOR_ACCESS_TOKEN_SECONDS: int = 5 * 60
    OPERATOR_REFRESH_TOKEN_SECONDS: int = 12 * 3600
    # Connections each of a process's pools keeps, and as many more it may open for a
    # moment; an API worker has two pools (its hot reads have their own), four with a
    # replica. A request beyond the pool opens a connection and closes it after, a fork and
    # a login on PostgreSQL each time: in a burst of scans, a pool of one connection per
    # thread gave a fifth more unlocks a second (docs/performance.md). That takes
    # PostgreSQL's max_connections above workers x threads x 2 and the other processes':
    # the default is small, since a pool too big for the server fails requests where one
    # too small only costs CPU.
    DB_POOL_SIZE: int = 10
    # Spending stops here; a fare beyond it becomes debt. 0: no overdraft.
    WALLET_FLOOR_MINOR: int = 0
    PAYMENT_GATEWAY_URL: str = "http://127.0.0.1:8002"
    # Where numbers typed without a country code belong (ISO 3166-1 alpha-2), and the SMS
    # provider of sign-in codes: none by default (codes cannot be sent: 503), "sandbox"
    # for a demo only (nothing sent; every code shown to anyone at /sandbox/sms).
    SMS_HOME_REGION: str = "CN"
    SMS_PROVIDER: str = ""
    # The cloud providers' ("aliyun", "tencent") account and approved texts
    # (rental/adapters/cloud_sms.py): key id and secret, sign name, template (its one
    # variable is the code), Tencent's SmsSdkAppId, the API region, and an endpoint
    # (scheme://host[:port]) in place of the provider's own, for a local fake.
    SMS_KEY_ID: str = ""
    SMS_KEY_SECRET: str = ""
    SMS_SIGN_NAME: str = ""
    SMS_TEMPLATE_ID: str = ""
    SMS_APP_ID: str = ""
    SMS_REGION: str = ""
    SMS_ENDPOINT: str = ""
    PAYMENT_GATEWAY_SECRET: str = ""
    # Alipay (rental/adapters/alipay_gateway.py, docs/payments.md), offered once its app id
    # is set: our app's RSA2 private key and Alipay's public key (PEM text or a file's
    # path), and the gateway (set only to reach a staging or local fake).
    ALIPAY_APP_ID: str = ""
    ALIPAY_APP_PRIVATE_KEY: str = ""
    ALIPAY_PUBLIC_KEY: str = ""
    ALIPAY_GATEWAY_URL: str = "https://openapi.alipay.com/gateway.do"
    # WeChat Pay API v3 (rental/adapters/wechatpay_gateway.py), offered once its merchant id
    # is set: the app id payments are for, the merchant's API private key (PEM text or a
    # file's path) and its certificate's serial number, the APIv3 key (32 characters), a
    # directory where the platform certificates fetched are kept (empty: fetched at each
    # start), and the API's address (set only to reach a staging or local fake).
    WECHATPAY_MERCHANT_ID: str = ""
    WECHATPAY_APP_ID: str = ""
    WECHATPAY_PRIVATE_KEY: str = ""
    WECHATPAY_CERTIFICATE_SERIAL: str = ""
    WECHATPAY_APIV3_KEY: str = ""
    WECHATPAY_CERTIFICATE_DIR: str = ""
    # Merchants given WeChat Pay's public key instead of platform certificates: the key (PEM
    # text or a file's path) and its id, PUB_KEY_ID_...
    WECHATPAY_PUBLIC_KEY: str = ""
    WECHATPAY_PUBLIC_KEY_ID: str = ""
    WECHATPAY_API_URL: str = "https://api.mch.weixin.qq.com"
    # Below this charge a vehicle is hidden from riders until it is charged or swapped.
    LOW_BATTERY_PCT: int = 15
    # A lock not heard from for this long is treated as offline (heartbeats: every 15 min).
    LOCK_SILENCE_SECONDS: int = 35 * 60
    RESERVATION_MINUTES: int = 15
    # Published in GBFS system_information: where feed consumers report problems.
    FEED_CONTACT_EMAIL: str = "opendata@example.com"
    # GBFS vehicle_status is rendered at most once per this many seconds for the whole
    # deployment (every worker and host serves the same render); 0: on every request.
    VEHICLE_STATUS_TTL_SECONDS: int = 10
    # MDS: our provider id (from the MDS provider list; derived from the base URL if unset),
    # page size, and how long after an hour ends its trips and events are served.
    MDS_PROVIDER_ID: str = ""
    MDS_PAGE_SIZE: int = 1000
    MDS_SETTLE_SECONDS: int = 300
    # Locks' raw fixes and events (where bikes, so riders, went) are kept this long.
    LOCK_LOG_RETENTION_DAYS: int = 90
    # The rider funnel's marks (per app visit, step and reason; no rider) are kept this long.
    FUNNEL_RETENTION_DAYS: int = 90
    # Counts of nearby searches that found no vehicle (per city, cell and hour; no rider)
    # are kept this long: the operators' demand map and the rebalancing read them.
    UNMET_DEMAND_RETENTION_DAYS: int = 90
    # The web pages' map tiles, as a Leaflet URL template ({z}/{x}/{y}, {s} for subdomains),
    # and the attribution the tile provider asks for. Empty: maps without a base layer.
    MAP_TILE_URL: str = ""
    MAP_TILE_ATTRIBUTION: str = ""
    # Where the rider app's map opens when the phone does not share its position: "lon,lat".
    MAP_CENTER: str = "121.4737,31.2304"
    # A rebalancing stop's link for its driver, with {lat} and {lon}: geo: (RFC 5870) opens the
    # phone's maps app on Android; e.g. https://uri.amap.com/marker?position={lon},{lat} for
    # Amap, or https://maps.apple.com/?ll={lat},{lon} for Apple Maps.
    DRIVER_MAP_LINK: str = "geo:{lat},{lon}?q={lat},{lon}"
    # Rate limits (rental/api/limits.py), counted in a storage every worker and host shares:
    # the project-local Redis that scripts/services.sh starts. memory:// counts per process.
    RATELIMIT_STORAGE_URI: str = "memory://"
    RATELIMIT_KEY_PREFIX: str = "rental"  # several deployments can share one Redis
    RATELIMIT_ENABLED: bool = True
    # How many reverse proxies in front of the API add to X-Forwarded-For. 0: the header is
    # ignored and the client is the peer address (anyone can write the header).
    TRUSTED_PROXY_COUNT: int = 0
    # Each limit is "N/period", several joined by ";" ("5/minute;20/hour"); "" for none.
    # Every public endpoint not named below has the default, per rider or address.
    RATE_LIMIT_DEFAULT: str = "600/minute"
    RATE_LIMIT_SIGN_IN_PER_PHONE: str = "5/minute;20/hour"
    # Generous: a mobile carrier's NAT puts many riders behind one address.
    RATE_LIMIT_SIGN_IN_PER_ADDRESS: str = "30/minute;300/hour"
    RATE_LIMIT_SIGN_UP_PER_ADDRESS: str = "5/minute;30/hour"
    # Each text costs money and reaches a person: few per phone, a few more per address.
    RATE_LIMIT_SMS_CODES_PER_PHONE: str = "1/minute;5/hour;10/day"
    RATE_LIMIT_SMS_CODES_PER_ADDRESS: str = "10/minute;60/hour"
    RATE_LIMIT_PASSWORD_CHANGES: str = "5/minute;20/hour"
    RATE_LIMIT_SCANS: str = "10/minute;60/hour"
    RATE_LIMIT_HOLDS: str = "5/minute;20/hour"
    # A bell to find one's bike by, not to play a tune on the street.
    RATE_LIMIT_RINGS: str = "3/minute;30/hour"
    RATE_LIMIT_PAYMENT_ORDERS: str = "5/minute;20/hour"
    RATE_LIMIT_DAMAGE_REPORTS: str = "3/minute;10/day"
    # A rider may take a photo again (blurred, wrong side) before reporting.
    RATE_LIMIT_DAMAGE_PHOTOS: str = "5/minute;20/day"
    RATE_LIMIT_GBFS: str = "120/minute"
    # The rider app's funnel steps (POST /api/v1/app-events), per address: a batch a screen.
    RATE_LIMIT_APP_EVENTS: str = "60/minute;1200/hour"
    RATE_LIMIT_MDS: str = "300/minute"
    # Fair use (rental.domain.fair_use). Damage reports: from riders who rode the asset
    # within the first number of minutes or tried to take it (a failed unlock, a hold)
    # within the second; at most so many per rider in any 24 hours.
    DAMAGE_REPORT_AFTER_RIDE_MINUTES: int = 30
    DAMAGE_REPORT_AFTER_TRY_MINUTES: int = 15
    DAMAGE_REPORTS_PER_DAY: int = 3
    # Damage photos (rental.domain.damage_photos): the largest upload in bytes (the rider
    # app scales a phone's photo down to fit; the edge's MAX_CONTENT_LENGTH does not apply
    # to this upload), the most pixels a photo may have before it is decoded, and the
    # longer side, in pixels, of the photo as stored.
    DAMAGE_PHOTO_MAX_BYTES: int = 2 * 1024 * 1024
    DAMAGE_PHOTO_MAX_PIXELS: int = 4096 * 4096
    DAMAGE_PHOTO_MAX_SIDE: int = 2048
    # Payment orders waiting for their payment per rider, and how long one waits.
    OPEN_PAYMENTS_PER_RIDER: int = 3
    PAYMENT_ORDER_MINUTES: int = 30
    # Stripe (rental/adapters/stripe_gateway.py), offered once its secret key is set: the
    # webhook endpoint's signing secret (whsec_..., the endpoint is
    # <PUBLIC_BASE_URL>/api/v1/payments/notify/stripe), where Checkout sends the rider back
    # (empty: the rider app), and Stripe's hosts (set only to reach a local fake).
    STRIPE_SECRET_KEY: str = ""
    STRIPE_WEBHOOK_SECRET: str = ""
    STRIPE_RETURN_URL: str = ""
    STRIPE_API_BASE: str = "https://api.stripe.com"
    STRIPE_FILES_BASE: str = "https://files.stripe.com"
    # So many holds cancelled within the window pause the rider's holds for a while.
    HOLD_CANCELS_BEFORE_PAUSE: int = 3
    HOLD_CANCEL_WINDOW_MINUTES: int = 60
    HOLD_PAUSE_MINUTES: int = 30
    # The edge of input (rental/api/edge.py): the largest request body read, in bytes
    # (Flask's own setting: 413 beyond it), and how deeply a JSON body may nest.
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    MAX_JSON_DEPTH: int = 32
    # 1: every answer of a typed endpoint is checked against the model it declares in
    # /api/v1/openapi.json (the tests do, so the document cannot drift from the views).
    VALIDATE_RESPONSES: int = 0
    # Observability (docs/operations.md). With a token, GET /metrics on the API wants
    # "Authorization: Bearer <token>"; without, only a client on this host, not via a proxy.
    METRICS_TOKEN: str = ""
    # lockctl's and the nightly job's metrics on http://127.0.0.1:<port>/metrics; 0: none.
    LOCKCTL_METRICS_PORT: int = 0
    REBALANCING_METRICS_PORT: int = 0
    # lockctl's telemetry writers, each with its queue and database connection; a lock's
    # fixes keep to one (docs/performance.md: two stored a tenth more than one on 2 cores).
    LOCKCTL_TELEMETRY_WRITERS: int = 2

    def service_policy(self) -> ServicePolicy:
        return ServicePolicy(self.LOW_BATTERY_PCT, timedelta(seconds=self.LOCK_SILENCE_SECONDS))

    def reporting_rules(self) -> ReportingRules:
        return ReportingRules(
            after_ride=timedelta(minutes=self.DAMAGE_REPORT_AFTER_RIDE_MINUTES),
            after_try=timedelta(minutes=self.DAMAGE_REPORT_AFTER_TRY_MINUTES),
            per_day=self.DAMAGE_REPORTS_PER_DAY,
        )

    def photo_rules(self) -> PhotoRules:
        return PhotoRules(
            max_bytes=self.DAMAGE_PHOTO_MAX_BYTES,
            max_pixels=self.DAMAGE_PHOTO_MAX_PIXELS,
            max_side=self.DAMAGE_PHOTO_MAX_SIDE,
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

    def token_lifetimes(self) -> TokenLifetimes:
        return TokenLifetimes(
            rider_access_seconds=self.ACCESS_TOKEN_SECONDS,
            rider_refresh_seconds=self.REFRESH_TOKEN_SECONDS,
            operator_access_seconds=self.OPERATOR_ACCESS_TOKEN_SECONDS,
            operator_refresh_seconds=self.OPERATOR_REFRESH_TOKEN_SECONDS,
        )

    @classmethod
    def from_environment(cls) -> "Config":
        config = cls()
        for name, default in vars(cls()).items():
            raw = os.environ.get(name)
            if raw is None:
                continue
            setattr(config, name, parsed_setting(raw, default))
        return config


def parsed_setting(raw: str, default: object) -> object:
    """An environment variable's text as the type of the setting's default."""
    if isinstance(default, bool):  # before int: a bool is an int
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw
