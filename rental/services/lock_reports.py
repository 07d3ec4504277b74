"""One message from a lock, from its topic and bytes to the use case that applies it, and
the dead letters: messages that can never be processed, kept for operators to replay.

lockctl calls `process` for every message it receives; an operator's replay calls it
again for a dead letter. A transient failure (the database is down) raises
`rental.domain.errors.Unavailable` and the caller retries; nothing is acknowledged
to the broker or to the lock before its transaction committed.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rental.adapters.locks.protocol import (
    MAX_COUNTER,
    Channel,
    LockTopic,
    ProtocolError,
    decode_event,
    decode_status,
    decode_telemetry,
)
from rental.domain.alerts import DeadLetter
from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import ServicePolicy
from rental.services import lock_events
from rental.services.lock_events import EventReceipt, ReportRefused
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# A dead letter keeps at most this much of a payload: locks may not send more (§3.1).
MAX_KEPT_PAYLOAD = 8192


@dataclass(frozen=True)
class ReportSettings:
    wallet_floor_minor: int = 0
    low_battery_pct: int = ServicePolicy.low_battery_pct


def process(
    uow: Callable[[], UnitOfWork],
    topic: str,
    payload: bytes,
    received_at: datetime,
    settings: ReportSettings,
) -> EventReceipt | None:
    """Apply one lock message. Returns what to acknowledge to the lock (events only).

    Raises ReportRefused when the message can never be processed (not the protocol, an
    unknown lock, a reused (boot, seq)), Unavailable when the database did not answer."""
    try:
        lock_topic = LockTopic.parse(topic)
        match lock_topic.channel:
            case Channel.EVT:
                event = decode_event(payload)
                return lock_events.handle_event(
                    uow(), lock_topic.lock_id, event, received_at, settings.wallet_floor_minor
                )
            case Channel.TELEMETRY:
                report = decode_telemetry(payload)
                lock_events.handle_telemetry(
                    uow(),
                    lock_topic.lock_id,
                    report,
                    received_at,
                    settings.wallet_floor_minor,
                    settings.low_battery_pct,
                )
            case Channel.STATUS:
                status = decode_status(payload)
                lock_events.handle_status(uow(), lock_topic.lock_id, status, received_at)
            case Channel.CMD | Channel.ACK:
                raise ReportRefused(f"{lock_topic.channel.value} is not a channel locks publish")
    except ProtocolError as error:
        raise ReportRefused(str(error)) from error
    return None


def store_dead_letter(
    uow: UnitOfWork, topic: str, payload: bytes, reason: str, received_at: datetime
) -> int:
    """Keep a message that cannot be processed, with why; returns its id."""
    with uow:
        letter_id = uow.dead_letters.add(
            topic[:512], payload[:MAX_KEPT_PAYLOAD], reason[:1000], received_at
        )
        uow.commit()
    log.warning("dead letter %d on %s: %s", letter_id, topic, reason)
    return letter_id


def receipt_for_refused(uow: UnitOfWork, topic: str, payload: bytes) -> EventReceipt | None:
    """An event kept as a dead letter is acknowledged all the same when its lock and its
    (boot, seq) can be read: the lock would otherwise resend it forever."""
    try:
        lock_topic = LockTopic.parse(topic)
        body = json.loads(payload)
        boot, seq = body["boot"], body["seq"]
    except (ProtocolError, ValueError, TypeError, KeyError, RecursionError):
        return None
    if lock_topic.channel is not Channel.EVT or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_COUNTER
        for n in (boot, seq)
    ):
        return None
    with uow:
        lock = uow.locks.get(lock_topic.lock_id)
    if lock is None:
        return None
    return EventReceipt(lock.id, boot, seq, lock.signing_key, first_time=False)


def dead_letters(
    uow: UnitOfWork, *, open_only: bool, limit: int, before_id: int | None = None
) -> list[DeadLetter]:
    """Newest first; `open_only` leaves out those replayed already."""
    with uow:
        return uow.dead_letters.list(open_only=open_only, limit=limit, before_id=before_id)


def replay_dead_letter(
    uow: Callable[[], UnitOfWork], letter_id: int, now: datetime, settings: ReportSettings
) -> tuple[DeadLetter, EventReceipt | None]:
    """Process a dead letter again (after the cause was fixed, e.g. the lock registered).

    Raises NotFound, Conflict (`already_replayed`, or `replay_refused` with the reason when
    it still cannot be processed; it then stays open)."""
    with uow() as unit:
        letter = unit.dead_letters.get(letter_id)
    if letter is None:
        raise NotFound(f"no dead letter {letter_id}", "dead_letter_not_found")
    if letter.replayed_at is not None:
        raise Conflict("this dead letter was replayed already", "already_replayed")
    try:
        receipt = process(uow, letter.topic, letter.payload, letter.received_at, settings)
    except ReportRefused as refused:
        with uow() as unit:
            unit.dead_letters.note_failed_replay(letter_id, str(refused))
            unit.commit()
        raise Conflict(f"still cannot be processed: {refused}", "replay_refused") from refused
    with uow() as unit:
        unit.dead_letters.mark_replayed(letter_id, now, "processed")
        unit.commit()
        replayed = unit.dead_letters.get(letter_id)
    assert replayed is not None
    return replayed, receipt
