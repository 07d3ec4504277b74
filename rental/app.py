"""The application factory."""

from dataclasses import replace
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from flask_openapi3 import APIBlueprint, OpenAPI, Tag

from rental.api import (
    auth,
    cities,
    damage_photos,
    dashboard,
    dispute_cases,
    document,
    edge,
    errors,
    exports,
    funnel,
    gbfs,
    headers,
    limits,
    lock_health,
    maintenance,
    mds,
    observability,
    ops,
    payments,
    phone_sign_in,
    pricing,
    rebalancing,
    receipts,
    reconciliation,
    rentals,
    reservations,
    riders,
    sessions,
    unmet_demand,
    vehicles,
    wallet,
    zones,
)
from rental.api.contract import AnswerModel, AssetCode, RequestModel
from rental.api.rebalancing_views import is_map_link
from rental.bootstrap import Platform
from rental.config import Config
from rental.web import blueprint as web_pages
from rental.web import init_app as init_web_pages


def create_app(
    test_config: dict[str, Any] | None = None, platform: Platform | None = None
) -> OpenAPI:
    """`test_config` overrides settings for this app only: a copy of the platform's (or the
    environment's) configuration, so one test's overrides never reach another's app."""
    app = document.new_app(__name__)
    base = platform.config if platform else Config.from_environment()
    config = replace(base, **(test_config or {}))
    if not config.SECRET_KEY:
        raise RuntimeError(
            "SECRET_KEY is not set: every API worker must sign tokens with the same secret"
            " (scripts/demo.sh makes one for the demo in var/secrets/api-secret-key)"
        )
    if not config.LOCK_KEY_ENCRYPTION_KEYS:
        raise RuntimeError(
            "LOCK_KEY_ENCRYPTION_KEYS is not set: locks' signing keys are sealed with it in the"
            " database (scripts/services.sh makes one for the demo in var/secrets)"
        )
    if not is_map_link(config.DRIVER_MAP_LINK):
        raise RuntimeError(
            "DRIVER_MAP_LINK must be a geo: or http(s) address with only {lat} and {lon} in it"
        )
    app.config.from_object(config)
    app.session_interface = auth.NoCookieSessions()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = NoCookieSessions()
    app.validate_response = bool(config.VALIDATE_RESPONSES)
    app.extensions["platform"] = platform or Platform(config)
    edge.install(app)
    errors.register_error_handlers(app)
    headers.register_response_headers(app)
    observability.init_app(app)  # request ids, metrics, /metrics, /readyz; JSON logs
    init_web_pages(app)  # the pages' files compressed
    for blueprint in (
        riders.blueprint,
        sessions.blueprint,
        phone_sign_in.blueprint,
        phone_sign_in.sandbox_pages,
        rentals.blueprint,
        ops.blueprint,
        cities.blueprint,
        lock_health.blueprint,
        dashboard.blueprint,
        funnel.blueprint,
        unmet_demand.blueprint,
        exports.blueprint,
        pricing.blueprint,
        wallet.blueprint,
        payments.blueprint,
        reconciliation.blueprint,
        receipts.blueprint,
        dispute_cases.blueprint,
        zones.blueprint,
        vehicles.blueprint,
        reservations.blueprint,
        maintenance.blueprint,
        damage_photos.blueprint,
        gbfs.blueprint,
        mds.blueprint,
        rebalancing.blueprint,
        web_pages,
    ):
        if isinstance(blueprint, APIBlueprint):  # typed: its models go in the document
            app.register_api(blueprint)
        else:
            app.register_blueprint(blueprint)

    @app.get("/healthz", tags=[PLATFORM], responses={200: Health})
    def health() -> dict[str, Any]:
        """The API process is up."""
        return Health(status="ok").json()

    @app.get("/q/<code>", tags=[PLATFORM], responses={200: ScannedCode})
    def scanned_with_a_camera(path: CodeOnQr) -> dict[str, Any]:
        """The asset's code, for a phone camera that opens its QR code's URL.

        The rider app posts the URL to /api/v1/rentals instead."""
        hint = "open the app and scan again, or POST this URL to /api/v1/rentals"
        return ScannedCode(code=path.code, hint=hint).json()

    document.serve_document(app)
    limits.init_rate_limits(app)  # last: it limits the endpoints above by name
    return app


PLATFORM = Tag(name="platform", description="the service itself, and QR codes' URLs")


class NoCookieSessions(SessionInterface):
    """The API keeps nothing in cookies (who calls is a bearer token): no request opens
    Flask's signed-cookie session, which made a signer for each one."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


class Health(AnswerModel):
    status: str


class CodeOnQr(RequestModel):
    code: AssetCode


class ScannedCode(AnswerModel):
    code: str
    hint: str
