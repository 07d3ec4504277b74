"""Helpers every blueprint uses: the platform, the JSON body, and how things render."""

import uuid
from typing import Any

from flask import current_app, request

from rental.bootstrap import Platform
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.pricing import describe
from rental.domain.rentals import Rental


def platform() -> Platform:
    value: Platform = current_app.extensions["platform"]
    return value


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", "invalid_json")
    return body


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}", f"{what}_not_found") from None


def money(amount_minor: int | None, currency: str) -> dict[str, Any] | None:
    return None if amount_minor is None else {"amount_minor": amount_minor, "currency": currency}


def rental_view(rental: Rental) -> dict[str, Any]:
    tariff = rental.tariff
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
        "price": {
            "plan_id": str(rental.plan_id) if rental.plan_id else None,
            "currency": tariff.currency,
            "unlock_fee_minor": tariff.unlock_fee_minor,
            "rate_per_interval_minor": tariff.rate_per_interval_minor,
            "interval_seconds": tariff.interval_seconds,
            "free_seconds": tariff.free_seconds,
            "daily_cap_minor": tariff.daily_cap_minor,
            "out_of_zone_fee_minor": tariff.out_of_zone_fee_minor,
            "summary": describe(tariff),
        },
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
