"""The `LockCommands` port over MQTT: each lock command signed with its lock's key,
encoded as the protocol says and published to the lock (QoS 1, never retained; commands
with a v5 expiry, so the broker drops one the lock would refuse anyway)."""

import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import assert_never

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
from rental.services.lock_commands import AcknowledgeEvent, LockCommand, Release, Ring, Unlock
from rental.services.ports import LockCommandError


def wire_command(command: Unlock | Release | Ring) -> Command:
    """The protocol's command (§4): ids as text, times in ms since the epoch. A ring
    belongs to no rental (a rider may ring the bike they hold): its `rental_id` is ""."""
    match command:
        case Unlock():
            op, slot, rental_id = Op.UNLOCK, None, str(command.rental_id)
        case Release():
            op, slot, rental_id = Op.RELEASE, command.slot, str(command.rental_id)
        case Ring():
            op, slot, rental_id = Op.RING, None, ""
        case _:
            assert_never(command)
    return Command(
        lock_id=command.lock_id,
        cmd_id=str(command.command_id),
        op=op,
        rental_id=rental_id,
        issued_at=_ms(command.issued_at),
        expires_at=_ms(command.expires_at),
        slot=slot,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class MqttLockCommands:
    def __init__(self, client: Callable[[], MqttClient]) -> None:
        self._client = client  # connects on first use

    def send(self, command: LockCommand) -> None:
        """Raises LockCommandError when the broker could not take it (or an unlock expired
        before it could be sent)."""
        match command:
            case Unlock() | Release() | Ring():
                self._send_command(wire_command(command), command.signing_key)
            case AcknowledgeEvent():
                self._acknowledge(command)
            case _:
                assert_never(command)

    def _send_command(self, command: Command, key: bytes) -> None:
        # The broker drops the command once it is stale, e.g. for a lock that reconnects late.
        expiry = math.ceil(command.expires_at / 1000 - time.time())
        if expiry <= 0:
            raise LockCommandError("command expired before it could be sent")
        self._publish(
            LockTopic(command.lock_id, Channel.CMD),
            encode_command(command, key),
            expiry_seconds=expiry,
        )

    def _acknowledge(self, command: AcknowledgeEvent) -> None:
        """The signed `ack` that lets the lock forget a stored event (protocol 1.1, §5.2).
        Unsent, the lock resends the event and the repeat is acknowledged."""
        ack = Ack(command.lock_id, command.boot, command.seq)
        self._publish(LockTopic(command.lock_id, Channel.ACK), encode_ack(ack, command.signing_key))

    def _publish(self, topic: LockTopic, payload: bytes, expiry_seconds: int | None = None) -> None:
        try:
            self._client().publish(str(topic), payload, qos=1, expiry_seconds=expiry_seconds)
        except MqttError as exc:
            raise LockCommandError(str(exc)) from exc
