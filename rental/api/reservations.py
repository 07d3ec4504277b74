"""Riders reserve a vehicle for a few minutes, see their reservation, and cancel it."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.answers import Money, money
from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    IdempotencyKey,
    Qr,
    RequestModel,
    signed_in,
)
from rental.api.vehicles import Position
from rental.domain.fleet import AssetKind
from rental.domain.reservations import Reservation, ReservationState
from rental.domain.riders import Role
from rental.services import reservations
from rental.services.commands.rides import CancelReservation, Reserve

RESERVATIONS = Tag(name="reservations", description="holding a vehicle before the scan")
blueprint = APIBlueprint(
    "reservations",
    __name__,
    url_prefix="/api/v1/reservations",
    abp_tags=[RESERVATIONS],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)


class HeldVehicleAnswer(AnswerModel):
    code: str
    kind: AssetKind
    position: Position | None = Field(description="WGS 84; where its lock last reported")


class ReservationAnswer(AnswerModel):
    id: UUID
    asset_id: UUID
    state: ReservationState
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    price_per_minute: Money | None
    fee: Money | None
    rental_id: UUID | None
    vehicle: HeldVehicleAnswer | None = Field(
        None, description="the vehicle held: on making it and on `current`"
    )


def held_vehicle_answer(vehicle: reservations.HeldVehicle) -> HeldVehicleAnswer:
    position = None
    if vehicle.lon is not None and vehicle.lat is not None:
        position = Position(lon=vehicle.lon, lat=vehicle.lat)
    return HeldVehicleAnswer(code=vehicle.code, kind=vehicle.kind, position=position)


def reservation_answer(
    reservation: Reservation, vehicle: reservations.HeldVehicle | None = None
) -> ReservationAnswer:
    tariff = reservation.tariff
    return ReservationAnswer(
        id=reservation.id,
        asset_id=reservation.asset_id,
        state=reservation.state,
        created_at=reservation.created_at,
        expires_at=reservation.expires_at,
        ended_at=reservation.ended_at,
        price_per_minute=money(tariff.reservation_per_minute_minor, tariff.currency),
        fee=money(reservation.fee_minor, tariff.currency),
        rental_id=reservation.rental_id,
        vehicle=None if vehicle is None else held_vehicle_answer(vehicle),
    )


class Reservable(RequestModel):
    code: Qr
    idempotency_key: IdempotencyKey

    def command(self, rider_id: UUID) -> Reserve:
        return Reserve(rider_id, self.code, self.idempotency_key)


class ReservationPath(RequestModel):
    reservation_id: UUID


@blueprint.post("", responses={201: ReservationAnswer, **NOT_FOUND, **CONFLICT})
@signed_in(Role.RIDER)
def reserve(body: Reservable) -> tuple[dict[str, Any], int]:
    """Hold a vehicle (`{code, idempotency_key}`) for RESERVATION_MINUTES, per minute."""
    p = platform()
    reservation = reservations.reserve(
        p.uow(),
        body.command(current_user_id()),
        p.now(),
        timedelta(minutes=p.config.RESERVATION_MINUTES),
        p.config.service_policy(),
        p.config.WALLET_FLOOR_MINOR,
        p.config.hold_rules(),
    )
    vehicle = reservations.held_vehicle(p.uow(), reservation)
    return reservation_answer(reservation, vehicle).json(), 201


@blueprint.get("/current", responses={200: ReservationAnswer, **NOT_FOUND})
@signed_in(Role.RIDER)
def current() -> dict[str, Any]:
    """The rider's live reservation with the vehicle held (its code, kind and position, to
    find it again), or 404 `reservation_not_found` when there is none."""
    p = platform()
    found = reservations.current_of_rider(p.uow(), current_user_id(), p.now())
    return reservation_answer(found, reservations.held_vehicle(p.uow(), found)).json()


@blueprint.get("/<reservation_id>", responses={200: ReservationAnswer, **NOT_FOUND})
@signed_in(Role.RIDER)
def show(path: ReservationPath) -> dict[str, Any]:
    """One of the rider's reservations."""
    found = reservations.reservation_of_rider(
        platform().uow(), current_user_id(), path.reservation_id
    )
    return reservation_answer(found).json()


@blueprint.post(
    "/<reservation_id>/cancel", responses={200: ReservationAnswer, **NOT_FOUND, **CONFLICT}
)
@signed_in(Role.RIDER)
def cancel(path: ReservationPath) -> dict[str, Any]:
    """End the rider's hold now; it costs the minutes it lasted."""
    command = CancelReservation(current_user_id(), path.reservation_id)
    p = platform()
    reservation = reservations.cancel(p.uow(), command, p.now(), p.config.WALLET_FLOOR_MINOR)
    return reservation_answer(reservation).json()
