"""The application factory."""

from dataclasses import replace
from typing import Any

from flask import Flask

from rental.api import (
    errors,
    gbfs,
    headers,
    limits,
    lock_health,
    maintenance,
    mds,
    observability,
    ops,
    payments,
    pricing,
    rebalancing,
    receipts,
    rentals,
    reservations,
    riders,
    sessions,
    vehicles,
    wallet,
    zones,
)
from rental.bootstrap import Platform
from rental.config import Config
from rental.web import blueprint as web_pages


def create_app(
    test_config: dict[str, Any] | None = None, platform: Platform | None = None
) -> Flask:
    """`test_config` overrides settings for this app only: a copy of the platform's (or the
    environment's) configuration, so one test's overrides never reach another's app."""
    app = Flask(__name__)
    base = platform.config if platform else Config.from_environment()
    config = replace(base, **(test_config or {}))
    app.config.from_object(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["platform"] = platform or Platform(config)
    errors.register_error_handlers(app)
    headers.register_response_headers(app)
    observability.init_app(app)  # request ids, metrics, /metrics, /readyz; JSON logs
    for blueprint in (
        riders.blueprint,
        sessions.blueprint,
        rentals.blueprint,
        ops.blueprint,
        lock_health.blueprint,
        pricing.blueprint,
        wallet.blueprint,
        payments.blueprint,
        receipts.blueprint,
        zones.blueprint,
        vehicles.blueprint,
        reservations.blueprint,
        maintenance.blueprint,
        gbfs.blueprint,
        mds.blueprint,
        rebalancing.blueprint,
        web_pages,
    ):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/q/<code>")
    def scanned_with_a_camera(code: str) -> dict[str, str]:
        # A phone camera opens the QR URL; the rider app posts it to /api/v1/rentals.
        return {
            "code": code,
            "hint": "open the app and scan again, or POST this URL to /api/v1/rentals",
        }

    limits.init_rate_limits(app)  # last: it limits the endpoints above by name
    return app
