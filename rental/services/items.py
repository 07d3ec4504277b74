"""Items rented from cabinets: released from a slot, returned to any cabinet of their kind.

A cabinet reports `released` when the rider takes the item and `returned` when an item is
pushed into a slot (it reads the item's tag). The rental ends at the return; an item kept
until its fare reaches its replacement price is charged that price and flagged as lost.

An item pushed into a cabinet of another kind (an umbrella into a power-bank cabinet) is
not returned as it should be. It is latched in, so the rider's time stops there, but the
rental ends like a bike parked where parking is not allowed: the plan's out-of-zone fee, a
credit effect, a message saying where it belongs; the item leaves riders' sight and an
operator alert asks staff to move it.
"""

import logging
from datetime import datetime

from rental.domain.alerts import AlertKind
from rental.domain.fleet import Asset, is_item
from rental.domain.funnel import Step
from rental.domain.rentals import Rental, RentalState
from rental.domain.zones import Parking, ParkingVerdict
from rental.services.funnel import rental_followed
from rental.services.lock_reports import LockEventReported
from rental.services.settlement import settle
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def released(
    uow: UnitOfWork, event: LockEventReported, rental: Rental | None, wallet_floor_minor: int
) -> None:
    """The item left its slot: it is with the rider now, in no cabinet. Unless it is back
    already: a release heard late (the releasing cabinet was away) after its return was
    processed ends the rental at that return, as for rides (docs/lock-protocol.md §5.3)."""
    if rental is None:
        log.warning("cabinet %s released slot %s with no rental waiting", event.lock_id, event.slot)
        return
    assert rental.started_at is not None
    asset = uow.assets.get(rental.asset_id)
    back = None if asset is None else uow.lock_log.return_since(asset.code, rental.started_at)
    if asset is None or back is None:
        uow.assets.dock(rental.asset_id, None, None)
        return
    cabinet_id, slot, at = back
    cabinet = uow.cabinets.get(cabinet_id)
    if cabinet is None:
        return
    _end_at_return(uow, rental, cabinet_id, slot, asset, cabinet.kind.value, at, wallet_floor_minor)


def returned(
    uow: UnitOfWork, event: LockEventReported, at: datetime, wallet_floor_minor: int
) -> None:
    """An item was pushed into a slot (any cabinet's): its rental ends at `at`."""
    cabinet_id = event.lock_id
    if event.item is None or event.slot is None:
        log.warning("cabinet %s reported a return without item or slot", cabinet_id)
        return
    cabinet = uow.cabinets.get(cabinet_id)
    asset = uow.assets.by_code(event.item, for_update=True)
    if cabinet is None or asset is None or not is_item(asset.kind):
        log.warning("cabinet %s reported unknown item %s", cabinet_id, event.item)
        return
    uow.assets.dock(asset.id, cabinet_id, event.slot)
    wrong_kind = cabinet.kind is not asset.kind
    # Returned to a cabinet of its kind in another city: fine for the rider, but staff
    # must move it where it belongs.
    uow.assets.set_needs_retrieval(asset.id, wrong_kind or cabinet.city_id != asset.city_id)
    if wrong_kind:
        _misplaced(uow, cabinet_id, event.slot, asset, cabinet.kind.value, at)
    rental = uow.rentals.open_for_asset(asset.id)
    if rental is None or rental.state is not RentalState.ACTIVE:
        return  # restocked by staff, a late report of a rental already settled, or a
        # return before its release was heard (`released` ends that rental)
    _end_at_return(
        uow, rental, cabinet_id, event.slot, asset, cabinet.kind.value, at, wallet_floor_minor
    )


def _end_at_return(
    uow: UnitOfWork,
    rental: Rental,
    cabinet_id: str,
    slot: int,
    asset: Asset,
    cabinet_kind: str,
    at: datetime,
    wallet_floor_minor: int,
) -> None:
    assert rental.started_at is not None
    rental.end(max(at, rental.started_at))
    rental.distance_m = None
    rental.judge_parking(_verdict(cabinet_id, slot, asset, cabinet_kind), None)
    uow.rentals.save(rental)
    rental_followed(uow, rental.id, Step.RIDE_ENDED, max(at, rental.started_at))
    wrong_kind = cabinet_kind != asset.kind.value
    settle(uow, rental, wallet_floor_minor, parking_violation=wrong_kind)


def _verdict(cabinet_id: str, slot: int, asset: Asset, cabinet_kind: str) -> ParkingVerdict:
    if cabinet_kind == asset.kind.value:
        return ParkingVerdict(Parking.OK, False, f"Returned to cabinet {cabinet_id}, slot {slot}.")
    message = (
        f"Put into cabinet {cabinet_id} (slot {slot}), which takes {_plural(cabinet_kind)} "
        f"only: {_plural(asset.kind.value)} go back to a {_singular(asset.kind.value)} "
        "cabinet. Staff will move it; the wrong-place fee applies."
    )
    return ParkingVerdict(Parking.WRONG_CABINET, True, message)


def _misplaced(
    uow: UnitOfWork, cabinet_id: str, slot: int, asset: Asset, cabinet_kind: str, at: datetime
) -> None:
    """Out of riders' sight until staff move it, and an alert that says where it is."""
    uow.assets.update_service(asset.id, in_service=False, needs_retrieval=True)
    detail = f"{asset.code} ({asset.kind.value}) is in slot {slot} of a {cabinet_kind} cabinet"
    uow.alerts.open(AlertKind.MISPLACED_ITEM, cabinet_id, detail, at, asset_id=asset.id)


def _singular(kind: str) -> str:
    return kind.replace("_", "-")


def _plural(kind: str) -> str:
    return _singular(kind) + "s"


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
