"""Sends signed commands and acknowledgements to locks over MQTT (QoS 1, never retained;
commands with a v5 expiry)."""

import math
import time
from collections.abc import Callable

from rental.adapters.locks.mqtt import MqttClient, MqttError
from rental.adapters.locks.protocol import (
    Ack,
    Channel,
    Command,
    LockTopic,
    Op,
    encode_ack,
    encode_command,
)
from rental.domain.fleet import Lock
from rental.domain.rentals import Rental
from rental.services.lock_events import EventReceipt
from rental.services.ports import LockChannelError


def unlock_command(lock: Lock, rental: Rental) -> Command:
    """A vehicle's lock opens; a cabinet releases the item's slot."""
    assert rental.unlock_command_id is not None and rental.unlock_expires_at is not None
    return Command(
        lock_id=lock.id,
        cmd_id=str(rental.unlock_command_id),
        op=Op.UNLOCK if rental.slot is None else Op.RELEASE,
        rental_id=str(rental.id),
        issued_at=int(rental.requested_at.timestamp() * 1000),
        expires_at=int(rental.unlock_expires_at.timestamp() * 1000),
        slot=rental.slot,
    )


class MqttLockChannel:
    def __init__(self, client: Callable[[], MqttClient]) -> None:
        self._client = client  # connects on first use

    def send_unlock(self, lock: Lock, rental: Rental) -> None:
        command = unlock_command(lock, rental)
        # The broker drops the command once it is stale, e.g. for a lock that reconnects late.
        expiry = math.ceil(command.expires_at / 1000 - time.time())
        if expiry <= 0:
            raise LockChannelError("command expired before it could be sent")
        try:
            self._client().publish(
                str(LockTopic(lock.id, Channel.CMD)),
                encode_command(command, lock.signing_key),
                qos=1,
                expiry_seconds=expiry,
            )
        except MqttError as exc:
            raise LockChannelError(str(exc)) from exc

    def acknowledge(self, receipt: EventReceipt) -> None:
        """The signed `ack` that lets the lock forget a stored event (protocol 1.1, §5.2).

        Raises LockChannelError; the lock then resends and the repeat is acknowledged."""
        ack = Ack(receipt.lock_id, receipt.boot, receipt.seq)
        try:
            self._client().publish(
                str(LockTopic(receipt.lock_id, Channel.ACK)),
                encode_ack(ack, receipt.signing_key),
                qos=1,
            )
        except MqttError as exc:
            raise LockChannelError(str(exc)) from exc
