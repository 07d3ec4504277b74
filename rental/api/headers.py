"""The headers every answer carries, set in one place after each view has run.

- `X-Content-Type-Options: nosniff` on everything, so no browser reads JSON or a script
  as another type.
- A strict Content-Security-Policy on every HTML page (the apps, receipts, the API's
  documentation): scripts and styles from this origin only, images also from the
  configured map tile server and from blob: URLs (a damage photo the page fetched with its
  token, or the rider's own before it is sent), no framing.
- `Cache-Control: no-store` on every API answer that did not set its own caching: riders'
  data and tokens are never kept by a shared or browser cache (RFC 6749 section 5.1 asks
  it of token answers; RFC 9111 section 5.2.2.5 defines it).
"""

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

API_PREFIX = "/api/"


def register_response_headers(app: Flask) -> None:
    app.after_request(_with_headers)


def _with_headers(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = page_policy(current_app.config["MAP_TILE_URL"])
    if request.path.startswith(API_PREFIX) and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def page_policy(tile_url: str) -> str:
    """The pages' Content-Security-Policy; `tile_url` is the Leaflet tile template, whose
    origin may serve images."""
    tiles = _origin(tile_url)
    return (
        f"default-src 'self'; img-src 'self' data: blob: {tiles}".rstrip()
        + "; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
        + "; form-action 'self'; frame-ancestors 'none'"
    )


def _origin(url: str) -> str:
    """The tile server's origin from a template such as https://{s}.tile.example/{z}/{x}/{y}.png."""
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
