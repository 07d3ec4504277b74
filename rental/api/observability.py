"""What an operator watches the API by (docs/operations.md): a request id on every request
and its log lines, the requests' latency by route, the payment notifications' outcomes,
`GET /metrics` for Prometheus and `GET /readyz` for a load balancer or an orchestrator.

`/healthz` (in `rental.app`) only says the process answers; `/readyz` says whether it can
serve: the database answers within a short timeout, its schema is the code's (Alembic
head), and the API's broker connection is up. 503 with what is not ready otherwise.

`/metrics` is not for the internet: it names routes, volumes and the fleet's state. With
METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>` (Prometheus's
`authorization` scrape setting); without it, only a client on this host (a loopback peer)
that came through no proxy (no X-Forwarded-For / Forwarded / X-Real-IP header) may read
it: the demo's Prometheus on the same machine can, a request relayed by a reverse proxy
on the same machine cannot. Everything else gets 403.
"""

import hmac
import ipaddress
import logging
import re
import time
import uuid
from typing import Any

import structlog
from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rental.adapters import health
from rental.adapters.locks.mqtt import MqttError
from rental.api.common import platform
from rental.api.errors import error_body
from rental.bootstrap import Platform
from rental.observability.exposition import scrape_registry
from rental.observability.fleet import LockPresence
from rental.observability.logs import configure_logging
from rental.observability.unlocks import watch_unlocks

log = logging.getLogger("rental.api.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and made of characters that are safe in a
# log line and a header (a UUID, a hex or base64 token); anything else gets one of ours.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:+/=-]{1,128}$")
# The gateways' notifications (rental.api.payments), counted by outcome.
NOTIFICATION_RULE = "/api/v1/payments/notify/<gateway>"
# Probes and scrapes come every few seconds: measured, but not one log line each.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Methods a route label may carry; any other is counted as "other" (clients choose them).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
# Long polls (`?wait=`) hold an answer up to 30 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_SECONDS = Histogram(
    "rental_http_request_duration_seconds",
    "API requests by method, route (the URL rule, not the path) and status class (2xx...).",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
PAYMENT_NOTIFICATIONS = Counter(
    "rental_payment_notifications",
    "Payment gateways' notifications by gateway and outcome: accepted, or the error code.",
    ["gateway", "outcome"],
)


def init_app(app: Flask) -> None:
    """Register the request hooks and the /metrics and /readyz endpoints; set up JSON logs
    unless the process already set up logging (gunicorn's config does it first)."""
    configure_logging("api", only_if_unconfigured=True)
    watch_unlocks()  # rebalancing runs: the planning worker's metrics, not the API's
    app.before_request(_begin_request)
    app.after_request(_end_request)
    app.teardown_request(_forget_request)
    app.add_url_rule("/metrics", "metrics", metrics)
    app.add_url_rule("/readyz", "readiness", readiness)


# -- request ids, latency and the log line of each request ------------------------------


def request_id_from(header: str | None) -> str:
    """The client's (or proxy's) X-Request-ID when it is sane, else a new one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    structlog.contextvars.bind_contextvars(request_id=g.request_id)


def _end_request(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    seconds = 0.0 if started is None else time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"
    status = f"{response.status_code // 100}xx"
    HTTP_SECONDS.labels(method, route, status).observe(seconds)
    if route == NOTIFICATION_RULE:
        _count_notification(response)
    if request.path not in QUIET_PATHS:
        log.info(
            "%s %s %d",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
    return response


def _forget_request(_error: BaseException | None) -> None:
    structlog.contextvars.unbind_contextvars("request_id")


def _count_notification(response: Response) -> None:
    # Anyone can post to any gateway name: only the platform's own gateways are labels.
    named = (request.view_args or {}).get("gateway")
    gateway = named if named in platform().payment_gateways else "unknown"
    outcome = "accepted" if response.status_code < 400 else _error_code(response)
    PAYMENT_NOTIFICATIONS.labels(gateway, outcome).inc()


def _error_code(response: Response) -> str:
    """The error code of our JSON error body (rental.api.errors), else the status."""
    body: Any = response.get_json(silent=True) if response.is_json else None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else error
    return code if isinstance(code, str) else f"http_{response.status_code}"


# -- /metrics ----------------------------------------------------------------------------


def metrics() -> Response | tuple[Response, int]:
    """Prometheus's text format: this API's metrics (every gunicorn worker's, in
    multiprocess mode) and the fleet's locks online and offline, read now."""
    if not _may_scrape():
        return error_body(403, "metrics_forbidden", "metrics are for the operator's scraper")
    fleet = CollectorRegistry(auto_describe=True)
    fleet.register(LockPresence(_lock_presence(platform())))
    body = generate_latest(scrape_registry()) + generate_latest(fleet)
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _may_scrape() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return _from_this_host_directly()


def _from_this_host_directly() -> bool:
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _lock_presence(p: Platform) -> Any:
    silence = p.config.service_policy().silence
    return lambda: health.lock_presence(p.engine, p.now(), silence)


# -- /readyz -----------------------------------------------------------------------------


def readiness() -> tuple[dict[str, Any], int]:
    """200 `{"status": "ready", "checks": {...: "ok"}}`, or 503 `{"status": "not ready",
    "checks": {...}}` where each failed check says why: `database` (a trivial query within
    2 s), `schema` (the database's Alembic revision is the code's head), `broker` (the
    API's MQTT connection)."""
    p = platform()
    checks = {**_database_and_schema(_probe_engine(p)), "broker": _broker(p)}
    ready = all(outcome == "ok" for outcome in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, (200 if ready else 503)


def _probe_engine(p: Platform) -> Engine:
    engine: Engine | None = current_app.extensions.get("readiness_engine")
    if engine is None:
        engine = current_app.extensions["readiness_engine"] = health.probe_engine(
            p.config.DATABASE_URL
        )
    return engine


def _database_and_schema(engine: Engine) -> dict[str, str]:
    try:
        found = health.schema_revisions(engine)
    except SQLAlchemyError as error:
        return {
            "database": f"not answering: {_first_line(error)}",
            "schema": "unknown: the database is not answering",
        }
    expected = health.head_revisions()
    if found == expected:
        return {"database": "ok", "schema": "ok"}
    at, needed = ", ".join(sorted(found)) or "none", ", ".join(sorted(expected))
    why = f"at {at}, the code needs {needed}: run `python -m rental db upgrade`"
    return {"database": "ok", "schema": why}


def _first_line(error: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement and link lines."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _broker(p: Platform) -> str:
    try:
        client = p.mqtt()
    except MqttError as error:
        return f"not connected: {error}"
    return "ok" if client.is_connected else "connection lost: reconnecting"
