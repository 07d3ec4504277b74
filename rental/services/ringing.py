"""Ring the bike: the rider holding or riding a vehicle has its lock sound its bell, to
find it among others parked alike (docs/lock-protocol.md §4.4).

Only the vehicle's own rider may ring it: the one holding it (a live reservation) or
riding it (a rental unlocking or under way). Anyone else is refused, so that a bell
can neither be used to annoy a street nor tell strangers which bike is whose. How often
a rider may ring is the API's rate limit (`RATE_LIMIT_RINGS`), not a rule of this module.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.errors import Conflict, Forbidden, NotFound, Unavailable
from rental.domain.fleet import is_reachable
from rental.services.commands.rides import RingVehicle
from rental.services.lock_commands import Ring
from rental.services.ports import LockCommandError, LockCommands
from rental.services.unit_of_work import UnitOfWork

# A bell heard later than this is no help to a rider looking for the bike; the lock refuses
# the command after it (and the broker drops it undelivered).
RING_LIFETIME = timedelta(seconds=10)


@dataclass(frozen=True)
class RingSent:
    command_id: uuid.UUID
    asset_id: uuid.UUID
    expires_at: datetime


def ring_vehicle(
    uow: UnitOfWork,
    locks: LockCommands,
    command: RingVehicle,
    now: datetime,
    silence: timedelta,
) -> RingSent:
    """Send the signed `ring` to the vehicle's lock; answered before the lock has rung.

    Raises NotFound (`asset_not_found`: no such vehicle, or an item with no lock of its
    own), Forbidden (`not_your_vehicle`: the rider neither holds nor rides it), Conflict
    (`lock_offline`: its lock has not been heard from within `silence`), Unavailable
    (`lock_unreachable`: the broker did not take the command)."""
    with uow:
        asset = uow.assets.get(command.asset_id)
        if asset is None or asset.lock_id is None:
            raise NotFound("no such vehicle", "asset_not_found")
        if not _holds_or_rides(uow, command.rider_id, asset.id, now):
            raise Forbidden("you can ring only the vehicle you hold or ride", "not_your_vehicle")
        lock = uow.locks.get(asset.lock_id)
    if lock is None or not is_reachable(lock.online, lock.last_seen_at, now, silence):
        raise Conflict("the vehicle's lock is offline: it cannot ring", "lock_offline")
    ring = Ring(lock.id, lock.signing_key, uuid.uuid4(), now, now + RING_LIFETIME)
    try:
        locks.send(ring)
    except LockCommandError as exc:
        raise Unavailable("the vehicle's lock could not be reached", "lock_unreachable") from exc
    return RingSent(ring.command_id, asset.id, ring.expires_at)


def _holds_or_rides(
    uow: UnitOfWork, rider_id: uuid.UUID, asset_id: uuid.UUID, now: datetime
) -> bool:
    hold = uow.reservations.held_by_rider(rider_id)
    if hold is not None and hold.is_live(now) and hold.asset_id == asset_id:
        return True
    ride = uow.rentals.open_for_asset(asset_id)
    return ride is not None and ride.rider_id == rider_id
