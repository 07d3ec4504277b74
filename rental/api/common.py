"""Helpers every blueprint uses: the platform, and a QR code to show."""

import segno
from flask import current_app

from rental.bootstrap import Platform


def platform() -> Platform:
    value: Platform = current_app.extensions["platform"]
    return value


def qr_image(text: str) -> str:
    """A QR code of `text` as an SVG data URI: a page shows it with <img>, no script."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))
