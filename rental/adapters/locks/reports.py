"""Lock reports off the wire, as the use cases take them: the `ReportDecoder` of
`rental.services.lock_reports`, over the protocol of `protocol.py`.

Only the wire's encodings are translated here (milliseconds since the epoch to aware
datetimes, the protocol's enums to ours); what a time means (clamped to the arrival) is
decided by the use case. A message that is no report a lock may send is refused with the
protocol's reason, which operators read in the dead letters.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import assert_never

from rental.adapters.locks.protocol import (
    MAX_COUNTER,
    Channel,
    Event,
    EventType,
    LockTopic,
    Presence,
    ProtocolError,
    Status,
    Telemetry,
    decode_event,
    decode_status,
    decode_telemetry,
)
from rental.services.lock_reports import (
    EventIdentity,
    LockEventKind,
    LockEventReported,
    LockReport,
    PresenceReported,
    ReportRefused,
    TelemetryReported,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def lock_clock(ms: int | None) -> datetime | None:
    """A time on the wire (ms since the Unix epoch, UTC), exactly; None stays None."""
    return None if ms is None else EPOCH + timedelta(milliseconds=ms)


def event_kind(kind: EventType) -> LockEventKind:
    match kind:
        case EventType.UNLOCKED:
            return LockEventKind.UNLOCKED
        case EventType.LOCKED:
            return LockEventKind.LOCKED
        case EventType.CMD_REJECTED:
            return LockEventKind.COMMAND_REJECTED
        case EventType.FAULT:
            return LockEventKind.FAULT
        case EventType.RELEASED:
            return LockEventKind.RELEASED
        case EventType.RETURNED:
            return LockEventKind.RETURNED
        case EventType.RANG:
            return LockEventKind.RANG
        case _:
            assert_never(kind)


def event_reported(lock_id: str, event: Event, received_at: datetime) -> LockEventReported:
    return LockEventReported(
        lock_id=lock_id,
        boot=event.boot,
        seq=event.seq,
        kind=event_kind(event.type),
        lock_time=lock_clock(event.ts),
        received_at=received_at,
        command_id=event.cmd_id,
        reason=event.reason,
        lon=event.lon,
        lat=event.lat,
        slot=event.slot,
        item=event.item,
        dropped=event.dropped,
    )


def telemetry_reported(lock_id: str, report: Telemetry, received_at: datetime) -> TelemetryReported:
    return TelemetryReported(
        lock_id=lock_id,
        boot=report.boot,
        seq=report.seq,
        lock_time=lock_clock(report.ts),
        received_at=received_at,
        locked=report.locked,
        lon=report.lon,
        lat=report.lat,
        battery_pct=report.battery_pct,
        accuracy_m=report.accuracy_m,
        latch_time=lock_clock(report.latch_ts),
        dropped=report.dropped,
    )


def presence_reported(lock_id: str, status: Status, received_at: datetime) -> PresenceReported:
    """The status's own `ts` is not used: presence is dated by its arrival (§3.1)."""
    match status.state:
        case Presence.ONLINE:
            online = True
        case Presence.OFFLINE:
            online = False
        case _:
            assert_never(status.state)
    return PresenceReported(lock_id, online, status.boot, received_at)


class WireReportDecoder:
    """Topic and payload, as published by a lock, to the use cases' command."""

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> LockReport:
        try:
            lock_topic = LockTopic.parse(topic)
            lock_id = lock_topic.lock_id
            match lock_topic.channel:
                case Channel.EVT:
                    return event_reported(lock_id, decode_event(payload), received_at)
                case Channel.TELEMETRY:
                    return telemetry_reported(lock_id, decode_telemetry(payload), received_at)
                case Channel.STATUS:
                    return presence_reported(lock_id, decode_status(payload), received_at)
                case Channel.CMD | Channel.ACK:
                    raise ReportRefused(
                        f"{lock_topic.channel.value} is not a channel locks publish"
                    )
                case _:
                    assert_never(lock_topic.channel)
        except ProtocolError as error:
            raise ReportRefused(str(error)) from error

    def event_identity(self, topic: str, payload: bytes) -> EventIdentity | None:
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
        return EventIdentity(lock_topic.lock_id, boot, seq)
