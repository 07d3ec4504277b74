"""Riders reserve a vehicle for a few minutes, see their reservation, and cancel it."""

from datetime import timedelta
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, requires
from rental.api.common import money, platform
from rental.api.parsing import idempotency_key, json_body, path_uuid, string
from rental.domain.fleet import asset_code_from_qr
from rental.domain.reservations import Reservation
from rental.domain.riders import Role
from rental.services import reservations
from rental.services.commands.rides import CancelReservation, Reserve

blueprint = Blueprint("reservations", __name__, url_prefix="/api/v1/reservations")


@blueprint.post("")
@requires(Role.RIDER)
def reserve() -> tuple[dict[str, Any], int]:
    body = json_body()
    code = string(body, "code", "code is required: the vehicle's code or QR URL", "invalid_qr")
    command = Reserve(current_user_id(), asset_code_from_qr(code), idempotency_key(body))
    p = platform()
    reservation = reservations.reserve(
        p.uow(),
        command,
        p.now(),
        timedelta(minutes=p.config.RESERVATION_MINUTES),
        p.config.service_policy(),
        p.config.WALLET_FLOOR_MINOR,
        p.config.hold_rules(),
    )
    return reservation_view(reservation), 201


@blueprint.get("/current")
@requires(Role.RIDER)
def current() -> dict[str, Any]:
    """The rider's live reservation, or 404 when there is none."""
    p = platform()
    return reservation_view(reservations.current_of_rider(p.uow(), current_user_id(), p.now()))


@blueprint.get("/<reservation_id>")
@requires(Role.RIDER)
def show(reservation_id: str) -> dict[str, Any]:
    key = path_uuid(reservation_id, "reservation")
    return reservation_view(
        reservations.reservation_of_rider(platform().uow(), current_user_id(), key)
    )


@blueprint.post("/<reservation_id>/cancel")
@requires(Role.RIDER)
def cancel(reservation_id: str) -> dict[str, Any]:
    command = CancelReservation(current_user_id(), path_uuid(reservation_id, "reservation"))
    p = platform()
    reservation = reservations.cancel(p.uow(), command, p.now(), p.config.WALLET_FLOOR_MINOR)
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
