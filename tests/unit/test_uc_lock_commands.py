"""What the platform asks of a lock (`rental.services.lock_commands`): a vehicle's lock
opens its latch, a cabinet releases the item's slot, each signed with the device's key;
and acknowledgements name the event a lock may forget."""

import uuid
from datetime import timedelta

from rental.domain.fleet import Lock
from rental.domain.rentals import Rental, RentalState
from rental.services.lock_commands import AcknowledgeEvent, Release, Unlock, unlock_command
from rental.services.lock_events import handle_event
from rental.services.lock_reports import LockEventKind
from tests.unit.world import BIKE_PRICE, START, UNLOCK_TIMEOUT, World, event

DEVICE = Lock("L-cmd", b"k" * 32)


def unlocking(slot: int | None) -> Rental:
    return Rental(
        id=uuid.uuid4(),
        rider_id=uuid.uuid4(),
        asset_id=uuid.uuid4(),
        lock_id=DEVICE.id,
        tariff=BIKE_PRICE,
        state=RentalState.UNLOCKING,
        requested_at=START,
        idempotency_key="key-12345",
        unlock_command_id=uuid.uuid4(),
        unlock_expires_at=START + UNLOCK_TIMEOUT,
        slot=slot,
    )


def test_a_vehicles_lock_is_asked_to_unlock_until_the_command_expires():
    rental = unlocking(slot=None)
    assert rental.unlock_command_id is not None
    assert unlock_command(DEVICE, rental) == Unlock(
        "L-cmd",
        b"k" * 32,
        rental.unlock_command_id,
        rental.id,
        START,
        START + timedelta(seconds=30),
    )


def test_a_cabinet_is_asked_to_release_the_items_slot():
    rental = unlocking(slot=7)
    command = unlock_command(DEVICE, rental)
    assert isinstance(command, Release)
    assert (command.lock_id, command.signing_key, command.slot) == ("L-cmd", b"k" * 32, 7)
    assert (command.command_id, command.rental_id) == (rental.unlock_command_id, rental.id)
    assert (command.issued_at, command.expires_at) == (START, START + UNLOCK_TIMEOUT)


def test_an_acknowledgement_is_signed_with_the_key_of_the_lock_that_sent_the_event():
    world = World()
    world.add_lock("L-a")
    world.add_lock("L-b")
    receipt = handle_event(world.uow(), event("L-b", 4, 2, LockEventKind.FAULT, START))
    assert receipt.acknowledgement == AcknowledgeEvent("L-b", b"key-of-L-b", 4, 2)
