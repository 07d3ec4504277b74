"""Scan to ride: start a rental, watch it unlock, list and inspect one's own rentals."""

from datetime import timedelta
from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import platform, rental_view
from rental.api.parsing import idempotency_key, json_body, page_args, path_uuid, string
from rental.domain.errors import InvalidInput
from rental.domain.fleet import asset_code_from_qr
from rental.domain.rentals import RentalState
from rental.domain.riders import Role
from rental.services import rentals
from rental.services.commands.rides import RequestUnlock

blueprint = Blueprint("rentals", __name__, url_prefix="/api/v1/rentals")

MAX_WAIT_SECONDS = 30


@blueprint.post("")
@requires(Role.RIDER)
def start_rental() -> tuple[dict[str, Any], int]:
    body = json_body()
    qr = string(body, "qr", "qr is required: the scanned URL or the asset code", "invalid_qr")
    command = RequestUnlock(current_user_id(), asset_code_from_qr(qr), idempotency_key(body))
    p = platform()
    unlocking = rentals.Unlocking(
        timedelta(seconds=p.config.UNLOCK_TIMEOUT_SECONDS),
        p.config.service_policy(),
        p.config.WALLET_FLOOR_MINOR,
    )
    rental = rentals.request_unlock(p.uow(), p.lock_commands, command, p.now(), unlocking)
    return rental_view(rental), 202


@blueprint.get("/<rental_id>")
@requires(Role.RIDER)
def show_rental(rental_id: str) -> dict[str, Any]:
    """`?wait=N` holds the answer up to N seconds while the rental is still unlocking."""
    wait = _wait_seconds()
    p, rider_id, key = platform(), current_user_id(), path_uuid(rental_id, "rental")
    if not wait:
        return rental_view(rentals.rental_of_rider(p.uow(), rider_id, key), p.now())
    with p.rental_changes.waiting_for(str(key)) as changed:
        rental = rentals.rental_of_rider(p.uow(), rider_id, key)
        if rental.state is RentalState.UNLOCKING and changed.wait(wait):
            rental = rentals.rental_of_rider(p.uow(), rider_id, key)
    return rental_view(rental, p.now())


@blueprint.get("")
@requires(Role.RIDER)
def list_rentals() -> dict[str, Any]:
    limit, before_at = page_args(20)
    p = platform()
    found = rentals.rentals_of_rider(p.uow(), current_user_id(), limit, before_at)
    return {"rentals": [rental_view(rental, p.now()) for rental in found]}


@blueprint.get("/<rental_id>/trace")
@requires(Role.RIDER)
def rental_trace(rental_id: str) -> dict[str, Any]:
    """The path so far while riding, the simplified stored path once ended."""
    p, key = platform(), path_uuid(rental_id, "rental")
    trace = rentals.trace_of(p.uow(), current_user_id(), key, p.now())
    rental = trace.rental
    geometry = None
    if trace.path is not None:
        geometry = {"type": "LineString", "coordinates": [list(point) for point in trace.path]}
    distance = None if rental.distance_m is None else round(rental.distance_m, 1)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "rental_id": str(rental.id),
            "state": rental.state.value,
            "distance_m": distance,
        },
    }


def _wait_seconds() -> float:
    raw = request.args.get("wait")
    if raw is None:
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidInput("wait is a number of seconds", "invalid_query") from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT_SECONDS}", "invalid_query")
    return wait
