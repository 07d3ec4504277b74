"""What operators confirm about a rider's behaviour, reflected in the credit score."""

import uuid

from rental.domain.errors import NotFound
from rental.domain.riders import Role
from rental.services.commands.riders import RecordIncident
from rental.services.read_models import CreditReport
from rental.services.unit_of_work import UnitOfWork


def record_confirmed_incident(uow: UnitOfWork, command: RecordIncident) -> int:
    """Returns the rider's score; a reference already recorded changes nothing."""
    with uow:
        rider = uow.users.get(command.rider_id)
        if rider is None or rider.role is not Role.RIDER:
            raise NotFound("no such rider", "rider_not_found")
        uow.credit.record(command.rider_id, command.reason, f"incident:{command.reference}")
        score = uow.credit.score(command.rider_id)
        uow.commit()
    return score


def credit_report(uow: UnitOfWork, rider_id: uuid.UUID) -> CreditReport:
    """The rider's score and the events that made it, newest first."""
    with uow:
        return CreditReport(uow.credit.score(rider_id), uow.credit.history(rider_id))
