"""Riders hold a vehicle for a few minutes, see their hold, and cancel it."""

from datetime import timedelta
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, requires
from rental.api.common import json_body, money, parse_uuid, platform
from rental.domain.reservations import Reservation
from rental.domain.riders import Role
from rental.services import reservations

blueprint = Blueprint("reservations", __name__, url_prefix="/api/v1/reservations")


@blueprint.post("")
@requires(Role.RIDER)
def reserve() -> tuple[dict[str, Any], int]:
    body = json_body()
    p = platform()
    reservation = reservations.reserve(
        p.uow(),
        current_user_id(),
        body.get("code"),
        body.get("idempotency_key"),
        p.now(),
        timedelta(minutes=p.config.RESERVATION_MINUTES),
        p.config.service_policy(),
        p.config.WALLET_FLOOR_MINOR,
    )
    return reservation_view(reservation), 201


@blueprint.get("/current")
@requires(Role.RIDER)
def current() -> dict[str, Any]:
    """The rider's live hold, or 404 when there is none."""
    p = platform()
    return reservation_view(reservations.current_of_rider(p.uow(), current_user_id(), p.now()))


@blueprint.get("/<reservation_id>")
@requires(Role.RIDER)
def show(reservation_id: str) -> dict[str, Any]:
    key = parse_uuid(reservation_id, "reservation")
    return reservation_view(
        reservations.reservation_of_rider(platform().uow(), current_user_id(), key)
    )


@blueprint.post("/<reservation_id>/cancel")
@requires(Role.RIDER)
def cancel(reservation_id: str) -> dict[str, Any]:
    p = platform()
    key = parse_uuid(reservation_id, "reservation")
    reservation = reservations.cancel(
        p.uow(), current_user_id(), key, p.now(), p.config.WALLET_FLOOR_MINOR
    )
    return reservation_view(reservation)


def reservation_view(reservation: Reservation) -> dict[str, Any]:
    tariff = reservation.tariff
    return {
        "id": str(reservation.id),
        "asset_id": str(reservation.asset_id),
        "state": reservation.state.value,
        "created_at": reservation.created_at.isoformat(),
        "expires_at": reservation.expires_at.isoformat(),
        "ended_at": reservation.ended_at.isoformat() if reservation.ended_at else None,
        "price_per_minute": money(tariff.reservation_per_minute_minor, tariff.currency),
        "fee": money(reservation.fee_minor, tariff.currency),
        "rental_id": str(reservation.rental_id) if reservation.rental_id else None,
    }
