"""Scan to ride: start a rental, watch it unlock, list and inspect one's own rentals."""

import time
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.answers import RentalAnswer, rental_answer
from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    UNAVAILABLE,
    AnswerModel,
    Before,
    IdempotencyKey,
    Qr,
    QueryModel,
    RentalIdPath,
    RequestModel,
    signed_in,
)
from rental.api.funnel import app_visit
from rental.domain.rentals import RentalState
from rental.domain.riders import Role
from rental.services import rentals
from rental.services.commands.rides import RequestUnlock
from rental.services.read_models import ShownRental

RENTALS = Tag(name="rentals", description="scan to ride: unlocking, the ride, its trace")
blueprint = APIBlueprint(
    "rentals",
    __name__,
    url_prefix="/api/v1/rentals",
    abp_tags=[RENTALS],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

MAX_WAIT_SECONDS = 30
MAX_PAGE = 100  # rentals.rentals_of_rider's limit


class StartRental(RequestModel):
    qr: Qr
    idempotency_key: IdempotencyKey

    def command(self, rider_id: UUID, visit: UUID | None = None) -> RequestUnlock:
        return RequestUnlock(rider_id, self.qr, self.idempotency_key, visit)


class Wait(QueryModel):
    wait: float = Field(
        0, ge=0, le=MAX_WAIT_SECONDS, allow_inf_nan=False, description="seconds to wait"
    )


@blueprint.post("", responses={202: RentalAnswer, **NOT_FOUND, **CONFLICT, **UNAVAILABLE})
@signed_in(Role.RIDER)
def start_rental(body: StartRental, query: Wait) -> tuple[dict[str, Any], int]:
    """Scan: ask the asset's lock to open. 202 `unlocking`; `?wait=N` holds the answer up
    to N seconds while it is still unlocking, as `GET` does (one call from scan to ride)."""
    p = platform()
    unlocking = rentals.Unlocking(
        timedelta(seconds=p.config.UNLOCK_TIMEOUT_SECONDS),
        p.config.service_policy(),
        p.config.WALLET_FLOOR_MINOR,
    )
    rider_id = current_user_id()
    command = body.command(rider_id, app_visit())  # the app's, for the rider funnel
    scanned_at = time.monotonic()  # before anything about the rental can be committed
    shown = rentals.request_unlock_shown(p.uow(), p.lock_commands, command, p.now(), unlocking)
    rental = shown.rental
    if not query.wait or rental.state is not RentalState.UNLOCKING:
        return _answer(shown).json(), 202
    deadline = scanned_at + query.wait
    # A change after the state just read is notified after `scanned_at`: no read first.
    with p.rental_changes.waiting_for(str(rental.id), since=scanned_at) as changed:
        changed.wait(max(0.0, deadline - time.monotonic()))
    shown = rentals.rental_shown_to_rider(p.reader(), rider_id, rental.id)
    left = deadline - time.monotonic()
    if shown.rental.state is RentalState.UNLOCKING and left > 0:
        shown = _watched(rider_id, rental.id, left)  # woken early by a listener that was away
    return _answer(shown, p.now()).json(), 202


@blueprint.get("/<rental_id>", responses={200: RentalAnswer, **NOT_FOUND})
@signed_in(Role.RIDER)
def show_rental(path: RentalIdPath, query: Wait) -> dict[str, Any]:
    """One of the rider's rentals; `?wait=N` holds the answer up to N seconds while it is
    still unlocking."""
    p, rider_id, key = platform(), current_user_id(), path.rental_id
    if not query.wait:
        return _answer(rentals.rental_shown_to_rider(p.reader(), rider_id, key), p.now()).json()
    return _answer(_watched(rider_id, key, query.wait), p.now()).json()


def _watched(rider_id: UUID, rental_id: UUID, wait: float) -> ShownRental:
    """The rider's rental once it has left `unlocking`, or as it is after `wait` seconds.
    The waiter is registered before the rental is read, so a change committed in between
    is not missed; each read is one statement outside a transaction (`Platform.reader`).
    It is read again when the wait ends without a word: a notification can be lost after
    its change committed (`UnitOfWork.notify`)."""
    p = platform()
    with p.rental_changes.waiting_for(str(rental_id)) as changed:
        shown = rentals.rental_shown_to_rider(p.reader(), rider_id, rental_id)
        if shown.rental.state is RentalState.UNLOCKING:
            changed.wait(wait)
            shown = rentals.rental_shown_to_rider(p.reader(), rider_id, rental_id)
    return shown


class RentalsPage(QueryModel):
    limit: int = Field(20, ge=1, le=MAX_PAGE)
    before: Before = None


class RentalList(AnswerModel):
    rentals: list[RentalAnswer] = Field(description="newest first")


@blueprint.get("", responses={200: RentalList})
@signed_in(Role.RIDER)
def list_rentals(query: RentalsPage) -> dict[str, Any]:
    """The rider's rentals, newest first; `before` is the last one's `requested_at`."""
    p = platform()
    found = rentals.rentals_of_rider(p.uow(), current_user_id(), query.limit, query.before)
    zones = rentals.time_zones_of(p.uow(), found)
    answers = [rental_answer(rental, p.now(), zones.get(rental.id)) for rental in found]
    return RentalList(rentals=answers).json()


def _answer(shown: ShownRental, now: datetime | None = None) -> RentalAnswer:
    return rental_answer(shown.rental, now, shown.time_zone)


class LineString(AnswerModel):
    type: Literal["LineString"]
    coordinates: list[tuple[float, float]] = Field(description="[lon, lat] in WGS 84")


class TraceProperties(AnswerModel):
    rental_id: UUID
    state: RentalState
    distance_m: float | None


class Trace(AnswerModel):
    """A GeoJSON Feature; no geometry before two good fixes."""

    type: Literal["Feature"]
    geometry: LineString | None
    properties: TraceProperties


@blueprint.get("/<rental_id>/trace", responses={200: Trace, **NOT_FOUND})
@signed_in(Role.RIDER)
def rental_trace(path: RentalIdPath) -> dict[str, Any]:
    """The trip's path: so far while riding, simplified and stored once ended."""
    p = platform()
    trace = rentals.trace_of(p.uow(), current_user_id(), path.rental_id, p.now())
    rental = trace.rental
    geometry = None
    if trace.path is not None:
        geometry = LineString(type="LineString", coordinates=trace.path)
    distance = None if rental.distance_m is None else round(rental.distance_m, 1)
    properties = TraceProperties(rental_id=rental.id, state=rental.state, distance_m=distance)
    return Trace(type="Feature", geometry=geometry, properties=properties).json()
