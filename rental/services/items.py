"""Items rented from cabinets: released from a slot, returned to any cabinet of their kind.

A cabinet reports `released` when the rider takes the item and `returned` when an item is
pushed into a slot (it reads the item's tag). The rental ends at the return; an item kept
until its fare reaches its replacement price is charged that price and flagged as lost.
"""

import logging
from datetime import datetime

from lockctl.protocol import Event
from rental.adapters.db import UnitOfWork
from rental.domain.fleet import is_item
from rental.domain.rentals import Rental, RentalState
from rental.domain.zones import Parking, ParkingVerdict
from rental.services.settlement import settle

log = logging.getLogger(__name__)


def released(uow: UnitOfWork, cabinet_id: str, event: Event, rental: Rental | None) -> None:
    """The item left its slot: it is with the rider now, in no cabinet."""
    if rental is None:
        log.warning("cabinet %s released slot %s with no rental waiting", cabinet_id, event.slot)
        return
    uow.assets.dock(rental.asset_id, None, None)


def returned(
    uow: UnitOfWork, cabinet_id: str, event: Event, at: datetime, wallet_floor_minor: int
) -> None:
    if event.item is None or event.slot is None:
        log.warning("cabinet %s reported a return without item or slot", cabinet_id)
        return
    cabinet = uow.cabinets.get(cabinet_id)
    asset = uow.assets.by_code(event.item, for_update=True)
    if cabinet is None or asset is None or not is_item(asset.kind):
        log.warning("cabinet %s reported unknown item %s", cabinet_id, event.item)
        return
    uow.assets.dock(asset.id, cabinet_id, event.slot)
    # Returned to a cabinet for another kind or city: it ends the rental all the same, but
    # staff must move it where it belongs.
    misplaced = cabinet.kind is not asset.kind or cabinet.city_id != asset.city_id
    uow.assets.set_needs_retrieval(asset.id, misplaced)
    rental = uow.rentals.open_for_asset(asset.id)
    if rental is None or rental.state is not RentalState.ACTIVE:
        return  # restocked by staff, or a late report of a rental already settled
    assert rental.started_at is not None
    rental.end(max(at, rental.started_at))
    rental.distance_m = None
    message = f"Returned to cabinet {cabinet_id}, slot {event.slot}."
    rental.judge_parking(ParkingVerdict(Parking.OK, False, message), None)
    uow.rentals.save(rental)
    settle(uow, rental, wallet_floor_minor)


def end_unreturned(uow: UnitOfWork, now: datetime, wallet_floor_minor: int) -> int:
    """Rentals of items whose fare reached the replacement price end as sold; the item is
    taken out of service and flagged. Returns how many ended."""
    with uow:
        lost = [r for r in uow.rentals.active_with_replacement_price() if r.is_lost_by(now)]
        for rental in lost:
            rental.end_unreturned(now)
            uow.rentals.save(rental)
            uow.assets.update_service(rental.asset_id, in_service=False, needs_retrieval=True)
            settle(uow, rental, wallet_floor_minor)
        uow.commit()
    return len(lost)
