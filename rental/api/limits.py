"""Rate limits: how often one client may call each public endpoint.

Flask-Limiter counts in the storage of `RATELIMIT_STORAGE_URI`, which every gunicorn worker
and every host shares (the Redis that scripts/services.sh runs), so a limit holds however
many processes serve the API. Limits are settings (rental/config.py) applied here, by
endpoint name, from one table: the blueprints stay about their requests, and this module
is the one list of what is limited and whom each limit counts.

Who a request counts against:
- an address: the peer's IP address. X-Forwarded-For is believed only for the
  `TRUSTED_PROXY_COUNT` proxies the operator put in front (werkzeug's ProxyFix); otherwise
  anyone could name any address. An IPv6 client counts by its /64, which a subscriber holds
  whole (counting single addresses would let it rotate through 2**64 of them).
- an account: the user of a valid bearer token (rider or operator). A request without one
  counts against its address: a bad token costs its sender, and the view refuses it anyway.
- a phone: the one a sign-in names, as sign-in looks it up, hashed: guessing one rider's
  password is slow from any number of addresses, and the storage holds no phone numbers.
- an MDS client: the city's token, or the address for a request without a valid one.

Each rule is one counter per client shared by the endpoints that list it (top-ups, deposits
and refunds draw on one budget of payment orders). Endpoints not in the table get the
default limit, per endpoint; the payment gateway's signed notifications and the health
check get none: refusing the gateway would delay riders' money, and a load balancer's
probe must not be throttled into marking the API down.

When the storage cannot be reached, the limits fail open to counters in each process's
memory (Flask-Limiter's in-memory fallback), with a warning in the log, and return to the
shared storage once it answers again (Flask-Limiter retries after 1, 2, 4 ... 32 s). Riders
mid-ride must still end their rides and pay when Redis is down, while per-process counters
still bound abuse (each worker allows the limit once).
"""

import functools
import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItemPerHour, parse_many
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from rental.api import auth
from rental.domain.errors import InvalidInput
from rental.domain.phones import e164
from rental.domain.riders import compact_phone

log = logging.getLogger(__name__)

# A home line or a phone gets a whole /64 from its carrier.
IPV6_SUBSCRIBER_PREFIX = 64
# Sliding-window counters: two numbers per client and limit in Redis, where a moving window
# keeps one entry per request (600 for the default limit), and no double burst at the edge
# of a window as fixed windows allow.
STRATEGY = "sliding-window-counter"
# A Redis that does not answer must not hold requests up: give up within a second (once:
# the fallback takes over) rather than wait for the system's TCP timeouts.
STORAGE_OPTIONS: dict[str, str | int] = {"socket_connect_timeout": 1, "socket_timeout": 1}


# -- whom a request counts against ----------------------------------------------------------


def _never_raising(key: Callable[[], str]) -> Callable[[], str]:
    """A key function that fails counts against the address: Flask-Limiter would take its
    exception for a storage failure and stop counting in the shared storage."""

    @functools.wraps(key)
    def safe() -> str:
        try:
            return key()
        except Exception as error:  # one line, no traceback: a client may cause it at will
            log.warning("rate limit key %s failed (%r): counting by address", key.__name__, error)
            return by_address()

    return safe


def client_address() -> str:
    """The client's IP address (after ProxyFix, when proxies are trusted); an IPv6 address
    as its /64 network."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_SUBSCRIBER_PREFIX}", strict=False))
    return str(ip)


def by_address() -> str:
    """`address:<ip>`, or `address:<network>/64` for IPv6."""
    return f"address:{client_address()}"


@_never_raising
def by_account() -> str:
    """`user:<id>` of a valid bearer token (rider or operator), else the address."""
    subject = _token_subject()
    return f"user:{subject}" if subject else by_address()


def _one_form(phone: str) -> str:
    try:
        return e164(phone, current_app.config["SMS_HOME_REGION"])
    except InvalidInput:
        return compact_phone(phone)


@_never_raising
def by_phone() -> str:
    """`phone:<hash>` of the JSON body's `phone` in E.164 (so that `+86 139...` and
    `139...` share one counter), or as typed without spaces and hyphens when it is no
    valid number; `no-phone:<address>` for a body without one."""
    try:
        body = request.get_json(silent=True)
    except (RecursionError, HTTPException, InvalidInput):  # beyond the edge: the view says
        body = None
    phone = body.get("phone") if isinstance(body, dict) else None
    if not isinstance(phone, str):
        return f"no-phone:{client_address()}"  # the view answers it with a 4xx
    looked_up = _one_form(phone).encode("utf-8", "surrogatepass")
    return f"phone:{hashlib.sha256(looked_up).hexdigest()[:32]}"


@_never_raising
def by_city_client() -> str:
    """`mds-client:<id>` of a valid MDS token, else the address."""
    client = _mds_client()
    return f"mds-client:{client}" if client else by_address()


def account_of_request() -> str | None:
    """The account a valid bearer token names (its user id), or None: no token, or not one
    of ours. For public endpoints that treat signed-in callers apart."""
    return _token_subject()


ONCE_AN_HOUR = RateLimitItemPerHour(1)


def first_time_this_hour(what: str, *keys: str) -> bool:
    """True the first time within an hour that `what` happens for `keys` (say one account's
    search of one map cell), counted in the rate limits' shared storage, whose entries
    expire with the hour. The keys are stored only as an HMAC under SECRET_KEY: the storage
    never holds who. Always True with limits off; False when no storage answers (not done,
    rather than done without bound)."""
    limiter: Limiter | None = current_app.extensions.get("rate_limiter")
    if limiter is None or not limiter.enabled:
        return True
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, "\x1f".join(keys).encode(), hashlib.sha256).hexdigest()[:32]
    try:
        return bool(limiter.limiter.hit(ONCE_AN_HOUR, "once-an-hour", what, digest))
    except Exception as failure:
        log.warning("%s not counted: the rate limits' storage failed: %s", what, failure)
        return False


# The two places that read tokens here, with rental.api.auth's own checks (which the view
# repeats): a forged or expired token names nobody.
def _token_subject() -> str | None:
    if "Authorization" not in request.headers:
        return None
    try:
        return str(auth.signed_claims().user_id)
    except Exception:
        return None


def _mds_client() -> str | None:
    if "Authorization" not in request.headers:
        return None
    try:
        return str(auth.signed_client_id())
    except Exception:
        return None


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One counter per client, shared by the endpoints that list it: `name` is its scope in
    the storage, `setting` the Config field that holds its "N/period;..." value."""

    name: str
    setting: str
    counts: Callable[[], str]


SIGN_IN_PER_PHONE = Rule("sign-in-per-phone", "RATE_LIMIT_SIGN_IN_PER_PHONE", by_phone)
SIGN_IN_PER_ADDRESS = Rule("sign-in-per-address", "RATE_LIMIT_SIGN_IN_PER_ADDRESS", by_address)
# The current password is checked: guessing it is guessing a sign-in.
PASSWORD_CHANGES = Rule("password-changes", "RATE_LIMIT_PASSWORD_CHANGES", by_account)
SMS_CODES_PER_PHONE = Rule("sms-codes-per-phone", "RATE_LIMIT_SMS_CODES_PER_PHONE", by_phone)
SMS_CODES_PER_ADDRESS = Rule(
    "sms-codes-per-address", "RATE_LIMIT_SMS_CODES_PER_ADDRESS", by_address
)
SIGN_UP_PER_ADDRESS = Rule("sign-up-per-address", "RATE_LIMIT_SIGN_UP_PER_ADDRESS", by_address)
SCANS = Rule("scans", "RATE_LIMIT_SCANS", by_account)
HOLDS = Rule("holds", "RATE_LIMIT_HOLDS", by_account)
RINGS = Rule("rings", "RATE_LIMIT_RINGS", by_account)
PAYMENT_ORDERS = Rule("payment-orders", "RATE_LIMIT_PAYMENT_ORDERS", by_account)
DAMAGE_REPORTS = Rule("damage-reports", "RATE_LIMIT_DAMAGE_REPORTS", by_account)
DAMAGE_PHOTOS = Rule("damage-photos", "RATE_LIMIT_DAMAGE_PHOTOS", by_account)
GBFS = Rule("gbfs", "RATE_LIMIT_GBFS", by_address)
APP_EVENTS = Rule("app-events", "RATE_LIMIT_APP_EVENTS", by_address)
MDS = Rule("mds", "RATE_LIMIT_MDS", by_city_client)

# Endpoint names are `blueprint.function`. Renaming a view means renaming it here: a name
# missing from the app stops create_app(), so a limit is never dropped unseen.
LIMITS_BY_ENDPOINT: dict[str, tuple[Rule, ...]] = {
    "sessions.sign_in": (SIGN_IN_PER_PHONE, SIGN_IN_PER_ADDRESS),
    "sessions.change_password": (PASSWORD_CHANGES,),
    "phone_sign_in.send_code": (SMS_CODES_PER_PHONE, SMS_CODES_PER_ADDRESS),
    "phone_sign_in.sign_in_with_code": (SIGN_IN_PER_PHONE, SIGN_IN_PER_ADDRESS),
    # Sign-up checks a texted code too: it shares the phone's sign-in budget.
    "riders.register_rider": (SIGN_UP_PER_ADDRESS, SIGN_IN_PER_PHONE),
    "rentals.start_rental": (SCANS,),
    "reservations.reserve": (HOLDS,),
    "vehicles.ring": (RINGS,),
    "payments.top_up": (PAYMENT_ORDERS,),
    "payments.pay_deposit": (PAYMENT_ORDERS,),
    "payments.refund_deposit": (PAYMENT_ORDERS,),
    "payments.withdraw": (PAYMENT_ORDERS,),
    "maintenance.report_damage": (DAMAGE_REPORTS,),
    "funnel.app_events": (APP_EVENTS,),
    "damage_photos.upload_photo": (DAMAGE_PHOTOS,),
    "gbfs.manifest": (GBFS,),
    "gbfs.feed": (GBFS,),
    "mds.vehicles": (MDS,),
    "mds.vehicles_status": (MDS,),
    "mds.trips": (MDS,),
    "mds.telemetry": (MDS,),
    "mds.historical_events": (MDS,),
    "mds.recent_events": (MDS,),
    "mds.report": (MDS,),
}
UNLIMITED_ENDPOINTS = frozenset({"payments.gateway_notification", "health"})


# -- wiring ---------------------------------------------------------------------------------


def init_rate_limits(app: Flask) -> Limiter:
    """Counts every request to `app` against its limits; a bad limit string or an endpoint
    the app does not have raises ValueError here, not at the first request."""
    if app.config["TRUSTED_PROXY_COUNT"] > 0:
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]
    limiter = Limiter(
        key_func=by_account,
        default_limits=[_setting(app, "RATE_LIMIT_DEFAULT")],
        strategy=STRATEGY,
        storage_options=STORAGE_OPTIONS,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        # Retry-After is set on 429s only (rental.api.errors): Flask-Limiter's headers would
        # put it on every answer, at the cost of a storage round trip each.
        headers_enabled=False,
    )
    limiter.init_app(app)
    for endpoint, rules in LIMITS_BY_ENDPOINT.items():
        # Flask-Limiter checks a route's own limits in a wrapper around its view (not in
        # before_request): this app's view becomes the wrapped one. It runs before the
        # view's sign-in check, so refused tokens count too.
        view = _view(app, endpoint)
        for rule in rules:
            limit = limiter.shared_limit(
                _setting(app, rule.setting), rule.name, key_func=rule.counts
            )
            view = limit(view)
        app.view_functions[endpoint] = view
    for endpoint in UNLIMITED_ENDPOINTS:
        limiter.exempt(_view(app, endpoint))
    if limiter.enabled and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        log.warning("rate limits count per process (memory://): set RATELIMIT_STORAGE_URI")
    app.extensions["rate_limiter"] = limiter
    return limiter


def _view(app: Flask, endpoint: str) -> Callable[..., Any]:
    view = app.view_functions.get(endpoint)
    if view is None:
        raise ValueError(f"rate limits name an endpoint the app does not have: {endpoint}")
    return view


def _setting(app: Flask, name: str) -> str:
    value = str(app.config[name])
    try:
        if value:  # "" is no limit
            parse_many(value)
    except ValueError as error:
        raise ValueError(f'{name}="{value}" is not a rate limit such as "5/minute"') from error
    return value


def seconds_until_allowed() -> int:
    """For a 429: when the limit this request broke lets its client in again (at least 1)."""
    limiter: Limiter | None = current_app.extensions.get("rate_limiter")
    breached = limiter.current_limit if limiter else None
    if breached is None:
        return 1
    try:
        reset_at = breached.window.reset_time
    except Exception:  # the storage went away since: the limit's whole period is safe
        reset_at = time.time() + breached.limit.get_expiry()
    return max(1, math.ceil(reset_at - time.time()))
