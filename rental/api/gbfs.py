"""Public GBFS 3.0 feeds per city, with HTTP caching (ETag, Last-Modified, max-age)."""

from flask import Blueprint, Response, request

from rental.api import gbfs_feeds
from rental.api.common import platform
from rental.api.gbfs_json import Feed

blueprint = Blueprint("gbfs", __name__, url_prefix="/gbfs/v3")


@blueprint.get("/manifest.json")
def manifest() -> Response:
    p = platform()
    return _cached(gbfs_feeds.manifest(p.reader(), p.config.PUBLIC_BASE_URL, p.now()))


@blueprint.get("/<city_id>/<name>.json")
def feed(city_id: str, name: str) -> Response:
    p = platform()
    rendered = gbfs_feeds.feed(
        p.reader(),
        city_id,
        name,
        p.config.PUBLIC_BASE_URL,
        p.now(),
        p.config.service_policy(),
        p.config.FEED_CONTACT_EMAIL,
        p.vehicle_status_cache,
        # Its own transaction and a plan made for this city: a generic plan (p.reader)
        # renders a big city's feed half again slower.
        p.uow,
    )
    return _cached(rendered)


def _cached(feed: Feed) -> Response:
    """Consumers poll these feeds: an unchanged one costs them a 304 and no body."""
    response = Response(feed.text, mimetype="application/json")
    response.set_etag(feed.etag)
    response.last_modified = feed.last_updated
    response.cache_control.public = True
    response.cache_control.max_age = feed.ttl
    response.make_conditional(request)
    return response
