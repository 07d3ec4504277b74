"""Helpers every blueprint uses: the platform, and how things render."""

from dataclasses import asdict
from datetime import datetime
from typing import Any

import segno
from flask import current_app

from rental.api.parsing import json_body as json_body
from rental.api.parsing import path_uuid
from rental.bootstrap import Platform
from rental.domain.pricing import Tariff, describe
from rental.domain.rentals import Rental

# Requests are read in rental.api.parsing; these two names stay here only until
# rental.api.rebalancing imports them from there.
parse_uuid = path_uuid


def platform() -> Platform:
    value: Platform = current_app.extensions["platform"]
    return value


def money(amount_minor: int | None, currency: str) -> dict[str, Any] | None:
    return None if amount_minor is None else {"amount_minor": amount_minor, "currency": currency}


def rental_view(rental: Rental, now: datetime | None = None) -> dict[str, Any]:
    """With `now`, a ride under way also shows its fare so far (what ending it now costs,
    before any parking fee)."""
    tariff = rental.tariff
    so_far = None if now is None else money(rental.fare_so_far(now), tariff.currency)
    return {
        "id": str(rental.id),
        "state": rental.state.value,
        "failure_reason": rental.failure_reason.value if rental.failure_reason else None,
        "asset_id": str(rental.asset_id),
        "requested_at": _iso(rental.requested_at),
        "started_at": _iso(rental.started_at),
        "ended_at": _iso(rental.ended_at),
        "duration_s": rental.duration_seconds,
        "distance_m": None if rental.distance_m is None else round(rental.distance_m, 1),
        "fare": money(rental.fare_minor, tariff.currency),
        "fare_so_far": so_far,
        "parking": _parking_view(rental),
        "late_unlock": rental.late_unlock,
        "notice": rental.notice,
        "price": {
            "plan_id": str(rental.plan_id) if rental.plan_id else None,
            **tariff_view(tariff),
        },
    }


def _parking_view(rental: Rental) -> dict[str, Any] | None:
    if rental.parking is None:
        return None
    return {
        "outcome": rental.parking.value,
        "message": rental.parking_message,
        "out_of_zone_fee": money(rental.out_of_zone_fee_minor, rental.tariff.currency),
        "position_doubt": rental.position_doubt,
    }


def qr_image(text: str) -> str:
    """A QR code of `text` as an SVG data URI: a page shows it with <img>, no script."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def tariff_view(tariff: Tariff) -> dict[str, Any]:
    return {**asdict(tariff), "summary": describe(tariff)}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
