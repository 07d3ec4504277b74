"""A dispute as an operator judges it: the fare's lines, the route, where the ride was
parked (by the verdict given at the end, and by the city's zones there now), and the
rider's recent history in counts.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.disputes import Dispute
from rental.domain.errors import NotFound
from rental.domain.rider_history import HISTORY_DAYS, RiderHistory, rider_history
from rental.domain.zones import Parking, ZoneKind
from rental.services import receipts, rentals
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ParkedAt:
    """Where a ride ended and what that place is."""

    position: tuple[float, float] | None  # (lon, lat) in WGS 84; None: the lock gave none
    parking: Parking | None  # the verdict given when the ride ended
    message: str | None  # that verdict as the rider read it
    doubt: str | None  # why the end position was uncertain, if it was
    zones: frozenset[ZoneKind]  # the kinds of the city's zones covering it now
    inside_service_area: bool | None  # by the zones now; None without a position


@dataclass(frozen=True)
class DisputeCase:
    dispute: Dispute
    receipt: receipts.Receipt
    route: list[tuple[float, float]] | None  # (lon, lat), simplified; None: no trace
    parked: ParkedAt
    history: RiderHistory


def dispute_case(uow: UnitOfWork, dispute_id: uuid.UUID, now: datetime) -> DisputeCase:
    """Everything an operator needs to judge one dispute. Raises NotFound
    `dispute_not_found`."""
    with uow:
        dispute = uow.disputes.get(dispute_id)
    if dispute is None:
        raise NotFound("no such dispute", "dispute_not_found")
    rider_id = dispute.rider_id
    receipt = receipts.receipt_for(uow, rider_id, dispute.rental_id)
    route = rentals.trace_of(uow, rider_id, dispute.rental_id, now).path
    return DisputeCase(
        dispute, receipt, route, _parked_at(uow, receipt), history_of(uow, rider_id, now)
    )


def history_of(uow: UnitOfWork, rider_id: uuid.UUID, now: datetime) -> RiderHistory:
    """The rider's history summary (rental.domain.rider_history) as of `now`."""
    with uow:
        recent = uow.rentals.of_rider_since(rider_id, now - timedelta(days=HISTORY_DAYS))
        disputes = uow.disputes.of_rider(rider_id)
        refunds = uow.disputes.refunds_to_rider(rider_id)
        joined_at = uow.users.joined_at(rider_id)
        score = uow.credit.score(rider_id)
    return rider_history(recent, disputes, refunds, joined_at, score, now)


def _parked_at(uow: UnitOfWork, receipt: receipts.Receipt) -> ParkedAt:
    rental = receipt.rental
    with uow:
        position = uow.rentals.end_position(rental.id)
        here = uow.zones.at_position(receipt.city_id, *position) if position else None
    return ParkedAt(
        position=position,
        parking=rental.parking,
        message=rental.parking_message,
        doubt=rental.position_doubt,
        zones=here.kinds if here else frozenset(),
        inside_service_area=here.inside_service_area if here else None,
    )
