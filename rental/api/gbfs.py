"""Public GBFS 3.0 feeds per city, with HTTP caching (ETag, Last-Modified, max-age)."""

from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, ExternalDocumentation, Tag
from pydantic import Field

from rental.api import gbfs_feeds
from rental.api.common import platform
from rental.api.contract import NOT_FOUND, CityId, RequestModel
from rental.api.gbfs_json import Feed

GBFS = Tag(
    name="gbfs",
    description="open data: GBFS 3.0 feeds, public",
    externalDocs=ExternalDocumentation(url="https://gbfs.org/specification/reference/"),
)
blueprint = APIBlueprint("gbfs", __name__, url_prefix="/gbfs/v3", abp_tags=[GBFS])
# The feeds are the GBFS spec's documents (its JSON schemas describe them), served as
# rendered: they are not re-validated here.
FEED: dict[str, Any] = {
    "description": "a GBFS 3.0 document",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
NOT_MODIFIED: dict[str, Any] = {"description": "unchanged since the ETag or time sent"}
CACHED: dict[str, Any] = {"responses": {200: FEED, 304: NOT_MODIFIED}, "validate_response": False}


@blueprint.get("/manifest.json", **CACHED)
def manifest() -> Response:
    """Every city served here, for consumers that find systems through one file."""
    p = platform()
    return _cached(gbfs_feeds.manifest(p.lagging_reader(), p.config.PUBLIC_BASE_URL, p.now()))


class FeedPath(RequestModel):
    city_id: CityId
    name: str = Field(
        pattern=r"^[a-z_]{1,40}$",
        description=f"one of {', '.join(gbfs_feeds.FEEDS)}; any other is 404",
    )


@blueprint.get(
    "/<city_id>/<name>.json",
    responses={**CACHED["responses"], **NOT_FOUND},
    validate_response=False,
)
def feed(path: FeedPath) -> Response:
    """One feed of one city; `gbfs` (the discovery file) lists them all."""
    p = platform()
    vehicle_status = gbfs_feeds.VehicleStatusSource(
        # The primary, in a transaction: a render writes again the rows of the vehicles
        # changed since the last (a replica could not), and is a few statements.
        store=p.uow,
        clock=p.now,
        ttl_seconds=p.config.VEHICLE_STATUS_TTL_SECONDS,
        copies=p.vehicle_status_copies,
    )
    rendered = gbfs_feeds.feed(
        p.lagging_reader(),
        path.city_id,
        path.name,
        p.config.PUBLIC_BASE_URL,
        p.now(),
        p.config.service_policy(),
        p.config.FEED_CONTACT_EMAIL,
        vehicle_status,
    )
    return _cached(rendered)


def _cached(feed: Feed) -> Response:
    """Consumers poll these feeds: an unchanged one costs them a 304 and no body. A render
    stored gzip-compressed goes out so to those that accept it (a fifth of the bytes)."""
    if feed.gzip is not None and request.accept_encodings["gzip"]:
        response = Response(feed.gzip, mimetype="application/json")
        response.content_encoding = "gzip"
        response.set_etag(f"{feed.etag}-gzip")  # another representation: its own tag
    else:
        response = Response(feed.text, mimetype="application/json")
        response.set_etag(feed.etag)
    if feed.gzip is not None:
        response.vary.add("Accept-Encoding")
    response.last_modified = feed.last_updated
    response.cache_control.public = True
    response.cache_control.max_age = feed.ttl
    response.make_conditional(request)
    return response
