"""A lock's outbox (protocol 1.1): every event kept until the platform's signed ack,
resent on a schedule, bounded, and kept across a reboot. The clock is passed in."""

import pytest

from rental.adapters.locks.protocol import (
    Ack,
    Command,
    Event,
    EventType,
    Op,
    encode_ack,
    encode_command,
)
from simulator.lock import Faults, VirtualLock
from simulator.outbox import Outbox

KEY = bytes(range(32))
NOW = 1_800_000_000_000


def event(seq: int, boot: int = 1) -> Event:
    return Event(boot, seq, NOW, EventType.LOCKED)


def seqs(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.boot, e.seq) for e in events]


def lock(**faults) -> VirtualLock:
    return VirtualLock("L1", KEY, 121.47, 31.23, faults=Faults(**faults))


def ack(boot: int, seq: int, key: bytes = KEY, lock_id: str = "L1") -> bytes:
    return encode_ack(Ack(lock_id, boot, seq), key)


def unlock(cmd_id: str = "c-1") -> bytes:
    return encode_command(Command("L1", cmd_id, Op.UNLOCK, "r-1", NOW, NOW + 10_000), KEY)


def test_every_event_a_lock_makes_is_kept_before_it_is_sent():
    virtual = lock()
    [opened] = virtual.on_command(unlock(), NOW)
    closed = virtual.close(NOW + 1000)
    [rejected] = virtual.on_command(b"not json", NOW + 2000)
    assert closed is not None
    assert virtual.outbox.events() == [opened.event, closed, rejected.event]
    assert virtual.telemetry(NOW).seq == 4  # telemetry shares the counter, is not kept
    assert len(virtual.outbox) == 3


def test_a_signed_ack_removes_exactly_that_event():
    virtual = lock()
    first = virtual.event(EventType.FAULT, NOW, reason="tilt")
    second = virtual.event(EventType.FAULT, NOW, reason="low_battery")
    assert virtual.on_ack(ack(first.boot, first.seq))
    assert virtual.outbox.events() == [second]
    assert not virtual.on_ack(ack(first.boot, first.seq))  # a repeated ack changes nothing
    assert virtual.outbox.events() == [second]
    assert virtual.bad_acks == 0


@pytest.mark.parametrize(
    "payload",
    [
        ack(1, 1, key=b"forged" * 6),  # signed with another key
        ack(1, 1, lock_id="L2"),  # another lock's ack
        b'{"v":1,"boot":1,"seq":1}',  # unsigned
        b"not json",
    ],
)
def test_an_ack_that_does_not_verify_is_ignored_and_counted(payload):
    virtual = lock()
    virtual.boot = 1
    virtual.event(EventType.FAULT, NOW, reason="tilt")
    assert not virtual.on_ack(payload)
    assert len(virtual.outbox) == 1
    assert virtual.bad_acks == 1


def test_a_lock_told_to_drop_acks_keeps_its_events():
    virtual = lock(drop_acks=True)
    kept = virtual.event(EventType.FAULT, NOW, reason="tilt")
    assert not virtual.on_ack(ack(kept.boot, kept.seq))
    assert virtual.outbox.events() == [kept]
    assert virtual.bad_acks == 0


def test_a_full_outbox_drops_its_oldest_event():
    outbox = Outbox(capacity=3)
    for seq in range(1, 4):
        assert outbox.add(event(seq), NOW) is None
    assert outbox.add(event(4), NOW) == event(1)
    assert seqs(outbox.events()) == [(1, 2), (1, 3), (1, 4)]
    assert outbox.dropped == 1


def test_the_default_outbox_holds_the_protocols_sixty_four_events():
    virtual = lock()
    made = [virtual.event(EventType.FAULT, NOW, reason="tilt") for _ in range(65)]
    assert len(virtual.outbox) == 64
    assert virtual.outbox.events() == made[1:]


def test_the_outbox_survives_a_reboot_and_old_events_keep_their_boot_and_seq():
    virtual = lock()
    before = virtual.event(EventType.FAULT, NOW, reason="tilt")
    old_boot = virtual.boot
    virtual.reboot()
    after = virtual.event(EventType.FAULT, NOW + 1, reason="low_battery")
    assert seqs(virtual.outbox.events()) == [(old_boot, before.seq), (old_boot + 1, 1)]
    assert after.seq == 1
    assert virtual.on_ack(ack(old_boot, before.seq))  # acked after the reboot, by old pair
    assert virtual.outbox.events() == [after]


def test_an_unacknowledged_event_is_resent_after_10_20_40_then_every_60_seconds():
    outbox = Outbox()
    outbox.add(event(1), NOW)
    sends = []
    for now in range(NOW, NOW + 400_000, 500):  # a resender waking every half second
        for due in outbox.due(now):
            outbox.sent(due, now)
            sends.append((now - NOW) // 1000)
    assert sends == [0, 10, 30, 70, 130, 190, 250, 310, 370]
    assert outbox.next_due_ms() == NOW + 430_000


def test_the_first_resend_interval_is_a_setting():
    outbox = Outbox(first_resend_ms=200)
    assert [outbox.resend_interval_ms(n) for n in range(1, 6)] == [200, 400, 800, 1600, 3200]
    assert outbox.resend_interval_ms(20) == 60_000
    with pytest.raises(ValueError):
        Outbox(first_resend_ms=0)


def test_each_event_keeps_its_own_schedule():
    outbox = Outbox()
    outbox.add(event(1), NOW)
    outbox.sent(event(1), NOW)
    outbox.add(event(2), NOW + 5_000)
    assert seqs(outbox.due(NOW + 5_000)) == [(1, 2)]  # the new one at once
    outbox.sent(event(2), NOW + 5_000)
    assert seqs(outbox.due(NOW + 10_000)) == [(1, 1)]
    assert outbox.next_due_ms() == NOW + 10_000
    assert outbox.due(NOW + 9_999) == []


def test_first_send_is_told_apart_from_resends():
    outbox = Outbox()
    outbox.add(event(1), NOW)
    assert outbox.sent(event(1), NOW) is True
    assert outbox.sent(event(1), NOW + 10_000) is False
    assert outbox.sent(event(9), NOW) is False  # not in the outbox (acknowledged meanwhile)


def test_after_a_reconnection_everything_unacknowledged_goes_oldest_first():
    outbox = Outbox()
    for seq in (1, 2, 3):
        outbox.add(event(seq), NOW)
    outbox.sent(event(1), NOW)
    outbox.sent(event(2), NOW)
    outbox.acknowledge(1, 2)
    assert seqs(outbox.sendable(NOW + 1)) == [(1, 1), (1, 3)]  # due or not


def test_an_event_is_not_sent_before_it_happens():
    virtual = lock(unlock_delay_ms=500)
    assert virtual.on_command(unlock(), NOW) == []
    virtual.advance(NOW + 499)
    assert virtual.outbox.sendable(NOW + 499) == []
    assert virtual.next_opening_ms() == NOW + 500
    [opened] = virtual.advance(NOW + 500)
    assert virtual.outbox.due(NOW + 500) == [opened]
