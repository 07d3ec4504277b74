"""Riders dispute a fare; operators refund it through the ledger."""

import uuid
from datetime import datetime

from rental.domain.disputes import (
    Dispute,
    DisputeState,
    checked_reason,
    fare_refund_postings,
)
from rental.domain.errors import Conflict, NotFound
from rental.domain.rentals import RentalState
from rental.services.commands.money import OpenDispute, ResolveDispute
from rental.services.rentals import rental_of_rider
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle


def open_dispute(uow: UnitOfWork, command: OpenDispute, now: datetime) -> Dispute:
    rental = rental_of_rider(uow, command.rider_id, command.rental_id)
    if rental.state is not RentalState.ENDED or not rental.fare_minor:
        raise Conflict("only a charged, finished rental can be disputed", "not_disputable")
    dispute = Dispute(
        uuid.uuid4(), rental.id, command.rider_id, checked_reason(command.reason), DisputeState.OPEN
    )
    with uow:
        uow.disputes.add(dispute)
        uow.commit()
    dispute.created_at = now
    return dispute


def resolve_dispute(
    uow: UnitOfWork, command: ResolveDispute, now: datetime, wallet_floor_minor: int
) -> Dispute:
    with uow:
        dispute = uow.disputes.get(command.dispute_id, for_update=True)
        if dispute is None:
            raise NotFound("no such dispute", "dispute_not_found")
        rental = uow.rentals.get(dispute.rental_id, for_update=True)
        assert rental is not None and rental.fare_minor is not None
        refundable = rental.fare_minor - uow.disputes.refunded_for_rental(rental.id)
        # An amount that is no integer is outside every range: refused as such.
        amount = -1 if command.refund_minor is None else command.refund_minor
        if not dispute.resolve(amount, refundable, command.note, now):
            return dispute
        if dispute.refund_minor:
            currency = rental.tariff.currency
            credit_and_settle(
                uow,
                dispute.rider_id,
                currency,
                "fare_refund",
                f"dispute:{dispute.id}",
                fare_refund_postings(dispute, currency),
                wallet_floor_minor,
            )
        uow.disputes.save(dispute)
        uow.commit()
    return dispute


def disputes_in_state(uow: UnitOfWork, state: DisputeState) -> list[Dispute]:
    with uow:
        return uow.disputes.in_state(state)
