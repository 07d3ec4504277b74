"""Dead letters: messages from locks that can never be processed, kept with why for
operators to inspect and replay once the cause is fixed (docs/lock-protocol.md §9).

lockctl keeps one whenever a report is refused or fails unexpectedly; an event kept so is
acknowledged to its lock all the same, when its lock and (boot, seq) can be read, or the
lock would resend it forever. A replay decodes the stored message as lockctl would
have, with its original arrival time.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rental.domain.alerts import DeadLetter
from rental.domain.errors import Conflict, NotFound
from rental.services import lock_events
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import ReportDecoder, ReportRefused, ReportSettings
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# A dead letter keeps at most this much of a payload: locks may not send more (§3.1).
MAX_KEPT_PAYLOAD = 8192


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


@dataclass(frozen=True)
class DeadLetterIn:
    """A message to keep as a dead letter, with why."""

    topic: str
    payload: bytes
    reason: str
    received_at: datetime


def store_dead_letters(uow: UnitOfWork, letters: Sequence[DeadLetterIn]) -> int:
    """Keep several messages in one transaction (telemetry's batches); how many."""
    if not letters:
        return 0
    with uow:
        for letter in letters:
            uow.dead_letters.add(
                letter.topic[:512],
                letter.payload[:MAX_KEPT_PAYLOAD],
                letter.reason[:1000],
                letter.received_at,
            )
        uow.commit()
    log.warning(
        "%d dead letter(s), the first on %s: %s", len(letters), letters[0].topic, letters[0].reason
    )
    return len(letters)


def acknowledgement_for_refused(
    uow: UnitOfWork, decoder: ReportDecoder, topic: str, payload: bytes
) -> AcknowledgeEvent | None:
    """An event kept as a dead letter is acknowledged all the same when its lock and its
    (boot, seq) can be read: the lock would otherwise resend it forever."""
    identity = decoder.event_identity(topic, payload)
    if identity is None:
        return None
    with uow:
        lock = uow.locks.get(identity.lock_id)
    if lock is None:
        return None
    return AcknowledgeEvent(lock.id, lock.signing_key, identity.boot, identity.seq)


def dead_letters(
    uow: UnitOfWork, *, open_only: bool, limit: int, before_id: int | None = None
) -> list[DeadLetter]:
    """Newest first; `open_only` leaves out those replayed already."""
    with uow:
        return uow.dead_letters.list(open_only=open_only, limit=limit, before_id=before_id)


def replay_dead_letter(
    uow: Callable[[], UnitOfWork],
    decoder: ReportDecoder,
    letter_id: int,
    now: datetime,
    settings: ReportSettings,
) -> tuple[DeadLetter, AcknowledgeEvent | None]:
    """Process a dead letter again (after the cause was fixed, e.g. the lock registered);
    returns it, and the acknowledgement to send when it was an event.

    Raises NotFound, Conflict (`already_replayed`, or `replay_refused` with the reason when
    it still cannot be processed; it then stays open)."""
    with uow() as unit:
        letter = unit.dead_letters.get(letter_id)
    if letter is None:
        raise NotFound(f"no dead letter {letter_id}", "dead_letter_not_found")
    if letter.replayed_at is not None:
        raise Conflict("this dead letter was replayed already", "already_replayed")
    try:
        report = decoder.decode(letter.topic, letter.payload, letter.received_at)
        acknowledgement = lock_events.apply(uow, report, settings)
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
    return replayed, acknowledgement
