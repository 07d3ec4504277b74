import pytest

from rental.adapters.locks.protocol import Command, EventType, Op, encode_command
from simulator.lock import Faults, VirtualLock

KEY = bytes(range(32))
NOW = 1_800_000_000_000


def lock(**faults) -> VirtualLock:
    return VirtualLock("L1", KEY, 121.47, 31.23, faults=Faults(**faults))


def unlock(cmd_id: str = "c-1", key: bytes = KEY, expires_at: int = NOW + 10_000) -> bytes:
    command = Command("L1", cmd_id, Op.UNLOCK, "r-1", NOW, expires_at)
    return encode_command(command, key)


def test_a_valid_command_opens_the_lock_and_answers_with_its_cmd_id():
    virtual = lock()
    [answer] = virtual.on_command(unlock(), NOW)
    assert answer.event.type is EventType.UNLOCKED
    assert answer.event.cmd_id == "c-1"
    assert not virtual.locked


def test_a_forged_command_leaves_the_lock_shut():
    virtual = lock()
    [answer] = virtual.on_command(unlock(key=b"forged" * 6), NOW)
    assert answer.event.type is EventType.CMD_REJECTED
    assert answer.event.reason == "bad_signature"
    assert virtual.locked


def test_a_replayed_command_is_rejected_even_after_the_lock_closed_again():
    virtual = lock()
    virtual.on_command(unlock(), NOW)
    virtual.close(NOW + 1000)
    [answer] = virtual.on_command(unlock(), NOW + 2000)
    assert answer.event.reason == "replayed"
    assert virtual.locked


def test_an_expired_command_is_rejected():
    [answer] = lock().on_command(unlock(expires_at=NOW - 1), NOW)
    assert answer.event.reason == "expired"


def test_faults_on_demand():
    assert lock(never_confirm=True).on_command(unlock(), NOW) == []
    [answer] = lock(reject_with="jammed").on_command(unlock(), NOW)
    assert answer.event.reason == "jammed"
    slow = lock(unlock_delay_ms=500)
    assert slow.on_command(unlock(), NOW) == []  # the latch is still opening
    assert slow.telemetry(NOW + 100).locked  # and says so
    assert slow.advance(NOW + 499) == []
    [opened] = slow.advance(NOW + 500)
    assert (opened.type, opened.ts) == (EventType.UNLOCKED, NOW + 500)
    assert not slow.telemetry(NOW + 600).locked


def test_a_slow_latch_numbers_its_event_when_it_opens_so_seq_follows_sending():
    slow = lock(unlock_delay_ms=500)
    slow.on_command(unlock(), NOW)
    during = slow.telemetry(NOW + 200)
    [opened] = slow.advance(NOW + 500)
    after = slow.telemetry(NOW + 600)
    assert during.seq < opened.seq < after.seq
    assert [answer.event.reason for answer in slow.on_command(unlock("c-2"), NOW + 700)] == ["busy"]


def test_sequence_numbers_grow_and_restart_with_a_new_boot():
    virtual = lock()
    first = virtual.telemetry(NOW)
    second = virtual.telemetry(NOW)
    assert second.seq == first.seq + 1
    virtual.reboot()
    after = virtual.telemetry(NOW)
    assert (after.boot, after.seq) == (first.boot + 1, 1)


def test_closing_reports_where_the_lock_is():
    virtual = lock()
    virtual.on_command(unlock(), NOW)
    virtual.move_to(121.5, 31.25, NOW + 1000)
    event = virtual.close(NOW + 2000)
    assert event is not None
    assert (event.type, event.lon, event.lat) == (EventType.LOCKED, 121.5, 31.25)
    assert virtual.close(NOW + 3000) is None


def test_telemetry_dates_the_latch_from_when_it_last_changed():
    virtual = lock()
    assert virtual.telemetry(NOW).latch_ts is None  # never changed since boot
    virtual.on_command(unlock(), NOW)
    virtual.close(NOW + 30_000)
    report = virtual.telemetry(NOW + 90_000)  # sent later, e.g. after reconnecting
    assert report.locked and report.latch_ts == NOW + 30_000


def ring(cmd_id: str = "ring-1", key: bytes = KEY, issued_at: int = NOW, lifetime: int = 10_000):
    return encode_command(Command("L1", cmd_id, Op.RING, "", issued_at, issued_at + lifetime), key)


def test_a_signed_fresh_ring_sounds_the_bell_once_and_leaves_the_latch_alone():
    virtual = lock()
    [answer] = virtual.on_command(ring(), NOW + 100)
    assert (answer.event.type, answer.event.cmd_id) == (EventType.RANG, "ring-1")
    assert virtual.rings == [("ring-1", NOW + 100)] and virtual.locked
    [again] = virtual.on_command(ring(), NOW + 200)  # QoS 1 delivered it twice
    assert again.event.reason == "replayed" and len(virtual.rings) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (ring(key=b"forged" * 6), "bad_signature"),
        (ring(issued_at=NOW - 20_000), "expired"),  # expired 10 s ago
        (ring(lifetime=61_000), "expired"),  # lives longer than a command may
    ],
)
def test_a_forged_or_stale_ring_is_refused_and_rings_nothing(payload, reason):
    virtual = lock()
    [answer] = virtual.on_command(payload, NOW)
    assert (answer.event.type, answer.event.reason) == (EventType.CMD_REJECTED, reason)
    assert virtual.rings == []


def test_a_cabinet_has_no_bell():
    cabinet = VirtualLock("L1", KEY, 121.47, 31.23, slots={1: "PB1"})
    [answer] = cabinet.on_command(ring(), NOW)
    assert answer.event.reason == "wrong_device" and cabinet.rings == []
