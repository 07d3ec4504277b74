"""Public GBFS 3.0 feeds per city, with HTTP caching (ETag, Last-Modified, max-age)."""

import hashlib
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from flask import Blueprint, Response, request

from rental.api.common import platform
from rental.services import open_data

blueprint = Blueprint("gbfs", __name__, url_prefix="/gbfs/v3")


@blueprint.get("/manifest.json")
def manifest() -> Response:
    p = platform()
    return _cached(open_data.manifest(p.reader(), p.config.PUBLIC_BASE_URL, p.now()))


@blueprint.get("/<city_id>/<name>.json")
def feed(city_id: str, name: str) -> Response:
    p = platform()
    body = open_data.feed(
        p.reader(),
        city_id,
        name,
        p.config.PUBLIC_BASE_URL,
        p.now(),
        p.config.service_policy(),
        p.config.FEED_CONTACT_EMAIL,
    )
    return _cached(body)


def _cached(body: dict[str, Any]) -> Response:
    """Consumers poll these feeds: an unchanged one costs them a 304 and no body."""
    data = json.dumps(body, separators=(",", ":")).encode()
    etag = hashlib.sha256(data).hexdigest()[:32]
    response = Response(data, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Last-Modified"] = _http_date(body["last_updated"])
    response.cache_control.public = True
    response.cache_control.max_age = body["ttl"]
    response.make_conditional(request)
    return response


def _http_date(rfc3339: str) -> str:
    return format_datetime(datetime.fromisoformat(rfc3339).astimezone(UTC), usegmt=True)
