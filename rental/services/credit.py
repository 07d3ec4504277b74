"""What operators confirm about a rider's behaviour, reflected in the credit score."""

import uuid

from rental.domain.credit import CreditReason
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.riders import Role
from rental.services.unit_of_work import UnitOfWork

CONFIRMED_BY_OPERATORS = (CreditReason.PARKING_VIOLATION, CreditReason.DAMAGE)


def record_confirmed_incident(
    uow: UnitOfWork, rider_id: uuid.UUID, reason: object, reference: object
) -> int:
    """Returns the rider's score; a reference already recorded changes nothing."""
    allowed = {r.value for r in CONFIRMED_BY_OPERATORS}
    if reason not in allowed:
        raise InvalidInput(f"reason must be one of {sorted(allowed)}", "invalid_reason")
    if not isinstance(reference, str) or not 3 <= len(reference) <= 100:
        raise InvalidInput(
            "reference (e.g. a damage report id) is 3 to 100 characters", "invalid_reference"
        )
    with uow:
        rider = uow.users.get(rider_id)
        if rider is None or rider.role is not Role.RIDER:
            raise NotFound("no such rider", "rider_not_found")
        uow.credit.record(rider_id, CreditReason(str(reason)), f"incident:{reference}")
        score = uow.credit.score(rider_id)
        uow.commit()
    return score
