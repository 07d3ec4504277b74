"""The receipt of a finished rental: what was charged, how it was paid, what was refunded."""

import uuid
from dataclasses import dataclass

from rental.domain.disputes import Dispute
from rental.domain.errors import Conflict
from rental.domain.ledger import AccountKind
from rental.domain.pricing import FareLine
from rental.domain.rentals import Rental, RentalState
from rental.services.rentals import rental_of_rider
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Receipt:
    number: str
    rental: Rental
    asset_code: str
    asset_kind: str
    lines: list[FareLine]
    total_minor: int
    paid_from_wallet_minor: int
    owed_minor: int  # left as debt when the trip ended
    refunded_minor: int
    disputes: list[Dispute]
    time_zone: str  # the city's (IANA): a receipt's times are read in it
    city_id: str  # the city the asset belongs to (its zones give a route map context)


def receipt_number(rental_id: uuid.UUID) -> str:
    return f"R-{rental_id.hex[:12].upper()}"


def receipt_for(uow: UnitOfWork, rider_id: uuid.UUID, rental_id: uuid.UUID) -> Receipt:
    rental = rental_of_rider(uow, rider_id, rental_id)
    if rental.state is not RentalState.ENDED:
        raise Conflict("the receipt is ready when the rental has ended", "receipt_not_ready")
    with uow:
        asset = uow.assets.get(rental.asset_id)
        postings = uow.ledger.postings_of(f"fare:{rental.id}")
        disputes = uow.disputes.for_rental(rental.id)
        time_zone = uow.cities.timezone_of(asset.city_id) if asset else None
    assert asset is not None and time_zone is not None

    def paid_by(kind: AccountKind) -> int:
        return -sum(amount for account, amount in postings if account == kind.value)

    return Receipt(
        number=receipt_number(rental.id),
        rental=rental,
        asset_code=asset.code,
        asset_kind=asset.kind.value,
        lines=rental.receipt_lines(),
        total_minor=rental.fare_minor or 0,
        paid_from_wallet_minor=paid_by(AccountKind.RIDER_WALLET),
        owed_minor=paid_by(AccountKind.RIDER_RECEIVABLE),
        refunded_minor=sum(dispute.refund_minor for dispute in disputes),
        disputes=disputes,
        time_zone=time_zone,
        city_id=asset.city_id,
    )
