"""Helpers every blueprint uses: the platform, and a QR code to show."""

import segno
from flask import current_app

from rental.api.parsing import json_body as json_body
from rental.api.parsing import path_uuid
from rental.bootstrap import Platform

# Requests are read in rental.api.parsing; these two names stay here only until
# rental.api.rebalancing imports them from there.
parse_uuid = path_uuid


def platform() -> Platform:
    value: Platform = current_app.extensions["platform"]
    return value


def qr_image(text: str) -> str:
    """A QR code of `text` as an SVG data URI: a page shows it with <img>, no script."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))
