"""Helpers every blueprint uses: the platform, a QR code to show, and answers that a page
polling for changes gets only when they changed."""

from typing import Any

import segno
from flask import Response, current_app, jsonify, request

from rental.bootstrap import Platform


def platform() -> Platform:
    value: Platform = current_app.extensions["platform"]
    return value


def qr_image(text: str) -> str:
    """A QR code of `text` as an SVG data URI: a page shows it with <img>, no script."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


# A 304 in the API's document.
NOT_MODIFIED: dict[str, Any] = {"description": "unchanged since the ETag sent (If-None-Match)"}


def unless_unchanged(body: dict[str, Any]) -> Response:
    """`body` as JSON with a strong ETag of its bytes, or 304 Not Modified with no body when
    the request's If-None-Match names that tag (RFC 9110 sections 8.8.3 and 13.1.2;
    Werkzeug compares). A console page polling every few seconds then gets the whole answer
    only when something in it changed. The answer stays `no-store` (rental.api.headers):
    the page keeps the tag and the last answer itself."""
    response = jsonify(body)
    response.add_etag()
    response.make_conditional(request)  # in place: 304 with no body when the tag matches
    return response
