"""What the platform asks of a lock, as the use cases say it: one value per command, sent
through the `LockCommands` port (`rental.services.ports`), whose adapter signs and encodes
it for the wire (docs/lock-protocol.md §4, §5.2).

Each command names its lock and carries the lock's signing key: the lock acts only on
what the platform signed with it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from rental.domain.fleet import Lock
from rental.domain.rentals import Rental


@dataclass(frozen=True)
class Unlock:
    """A vehicle's lock opens its latch for a rental, unless the command expired."""

    lock_id: str
    signing_key: bytes
    command_id: uuid.UUID
    rental_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Release:
    """A cabinet lets the item in `slot` go for a rental, unless the command expired."""

    lock_id: str
    signing_key: bytes
    command_id: uuid.UUID
    rental_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    slot: int


@dataclass(frozen=True)
class Ring:
    """A vehicle's lock sounds its bell, so that the rider holding or riding it finds it
    (docs/lock-protocol.md §4.4); it changes nothing else, and is refused once expired."""

    lock_id: str
    signing_key: bytes
    command_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AcknowledgeEvent:
    """The platform stored event (boot, seq) of a lock: the lock may forget it."""

    lock_id: str
    signing_key: bytes
    boot: int
    seq: int


LockCommand = Unlock | Release | Ring | AcknowledgeEvent


def unlock_command(lock: Lock, rental: Rental) -> Unlock | Release:
    """What opens the way to the rental's asset: a vehicle's lock opens its latch; a
    cabinet releases the item's slot."""
    assert rental.unlock_command_id is not None and rental.unlock_expires_at is not None
    if rental.slot is None:
        return Unlock(
            lock.id,
            lock.signing_key,
            rental.unlock_command_id,
            rental.id,
            rental.requested_at,
            rental.unlock_expires_at,
        )
    return Release(
        lock.id,
        lock.signing_key,
        rental.unlock_command_id,
        rental.id,
        rental.requested_at,
        rental.unlock_expires_at,
        rental.slot,
    )
