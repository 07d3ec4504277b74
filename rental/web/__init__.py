"""The web pages the platform serves: the rider app at /app/ (an installable PWA), the
operator console at /ops/, and the API's reference at /api/docs. They are static files
that speak only the public JSON API; this blueprint serves them, the front-end libraries
installed from the npm registry (web/), and the map settings the pages need. All of them
live inside the package, so that an installed wheel serves them as a checkout does.

Pages carry a strict Content-Security-Policy (rental.api.headers): scripts and styles
from this origin only, and map tiles only from the configured tile server.
"""

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from flask_compress import Compress

from rental.config import Config
from rental.domain.errors import NotFound
from rental.domain.trace import is_valid_position

STATIC = Path(__file__).parent / "static"
# The files the pages load from npm packages (web/package-lock.json), copied here by
# `make install` (scripts/web.sh vendor, which lists them) and carried by the wheel.
VENDOR = Path(__file__).parent / "vendor"
# The packages served from there, and nothing else.
VENDORED = frozenset({"leaflet", "leaflet.heat", "jsqr", "swagger-ui-dist", "chart.js"})


blueprint = Blueprint("web", __name__, static_folder=None)
# The pages' files go compressed (Brotli or Zstandard, as the browser accepts; Flask-Compress)
# when a proxy in front has not done it: a third of the bytes on a phone's slow link. Only
# these files: the API's answers are small, and its CPU is the unlocks'.
compress = Compress()


def init_app(app: Flask) -> None:
    """Compression for the views of this blueprint only (they carry `compress.compressed`)."""
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress.init_app(app)


@blueprint.get("/ops/")
@compress.compressed()
def operator_console() -> Response:
    return _page("ops/index.html")


@blueprint.get("/app/")
@compress.compressed()
def rider_app() -> Response:
    return _page("app/index.html")


@blueprint.get("/api/docs")
@compress.compressed()
def api_reference() -> Response:
    """The OpenAPI document at /api/v1/openapi.json, browsable (Swagger UI)."""
    return _page("docs/index.html")


@blueprint.get("/app/manifest.webmanifest")
@compress.compressed()
def rider_app_manifest() -> Response:
    return send_from_directory(
        STATIC / "app", "manifest.webmanifest", mimetype="application/manifest+json", max_age=300
    )


@blueprint.get("/app/sw.js")
@compress.compressed()
def rider_app_worker() -> Response:
    # Served from /app/ so that it may control the app's pages; never cached by HTTP, so a
    # new release reaches phones on their next start.
    return send_from_directory(STATIC / "app", "sw.js", mimetype="text/javascript", max_age=0)


@blueprint.get("/web/<path:name>")
@compress.compressed()
def static_file(name: str) -> Response:
    return send_from_directory(STATIC, name, max_age=300)


@blueprint.get("/vendor/<package>/<path:name>")
@compress.compressed()
def vendored(package: str, name: str) -> Response:
    if package not in VENDORED:
        raise NotFound(f"no front-end package {package}", "not_found")
    return send_from_directory(VENDOR / package, name, max_age=86400)


@blueprint.get("/web-config.json")
def web_config() -> dict[str, object]:
    config = current_app.config
    lon, lat = _center(config["MAP_CENTER"])
    return {
        "tile_url": config["MAP_TILE_URL"],
        "tile_attribution": config["MAP_TILE_ATTRIBUTION"],
        "center": {"lon": lon, "lat": lat},
    }


def _center(setting: str) -> tuple[float, float]:
    """MAP_CENTER "lon,lat"; a setting that is not one falls back to the default's."""
    try:
        lon, lat = (float(part) for part in setting.split(","))
    except ValueError:
        return _center(Config.MAP_CENTER)
    return (lon, lat) if is_valid_position(lon, lat) else _center(Config.MAP_CENTER)


def _page(name: str) -> Response:
    # Headers (the Content-Security-Policy among them): rental.api.headers.
    return send_from_directory(STATIC, name, max_age=0)
