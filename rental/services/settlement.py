"""What happens once a rental has ended, whatever ended it: the fare is booked in the
ledger, the credit score moves, and apps waiting on the rental are told."""

from rental.domain.credit import CreditReason
from rental.domain.rentals import Rental
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import charge_fare

RENTAL_STATE_CHANNEL = "rental_state"


def settle(
    uow: UnitOfWork, rental: Rental, wallet_floor_minor: int, *, parking_violation: bool = False
) -> None:
    assert rental.fare_minor is not None
    owed = charge_fare(
        uow,
        rental.rider_id,
        rental.tariff.currency,
        rental.fare_minor,
        f"fare:{rental.id}",
        wallet_floor_minor,
    )
    if parking_violation:
        uow.credit.record(rental.rider_id, CreditReason.PARKING_VIOLATION, f"parking:{rental.id}")
    if rental.unreturned:
        uow.credit.record(rental.rider_id, CreditReason.UNRETURNED_ITEM, f"lost:{rental.id}")
    if owed:
        uow.credit.record(rental.rider_id, CreditReason.UNPAID_FARE, f"ride:{rental.id}")
    elif not (parking_violation or rental.unreturned):
        uow.credit.record(rental.rider_id, CreditReason.CLEAN_RIDE, f"ride:{rental.id}")
    uow.notify(RENTAL_STATE_CHANNEL, str(rental.id))
