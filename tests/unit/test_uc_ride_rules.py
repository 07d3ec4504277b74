"""A ride is bounded by its lock's own order and clock (docs/lock-protocol.md §5.3), in
memory: `rental.services.lock_events` with the fakes, as tests/integration/
test_ride_truth.py and test_lock_reports.py check it on PostgreSQL."""

from datetime import timedelta

import pytest

from rental.domain.alerts import AlertKind
from rental.domain.rentals import FailureReason, RentalState
from rental.domain.zones import Parking
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_events import handle_event
from rental.services.lock_reports import LockEventKind, ReportRefused
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.telemetry import handle_telemetry, ingest_telemetry
from tests.unit.world import (
    OPENED,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    World,
    closed,
    event,
    telemetry,
    unlocked,
)


@pytest.fixture
def world() -> World:
    return World()


@pytest.mark.parametrize(
    ("boot", "seq", "fix_seq", "seconds_after_opening"),
    [
        pytest.param(UNLOCK_BOOT, 11, 12, -5, id="its clock says before the unlock"),
        pytest.param(UNLOCK_BOOT - 1, 99, 100, 40, id="an older boot"),
        pytest.param(UNLOCK_BOOT, 9, 8, 40, id="an earlier seq of the unlock's boot"),
    ],
)
def test_a_close_from_before_the_unlock_never_ends_the_ride(
    world, boot, seq, fix_seq, seconds_after_opening
):
    rider, rental = world.riding()
    at = OPENED + timedelta(seconds=seconds_after_opening)
    world.report(closed(rental.lock_id, boot, seq, at))
    world.report(telemetry(rental.lock_id, boot, fix_seq, at, locked=True))
    assert world.rental(rental).state is RentalState.ACTIVE
    assert world.wallet(rider) == 1000


def test_a_close_from_an_older_boot_never_ends_the_ride_even_when_dated_later(world):
    _, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT - 1, 1, OPENED + timedelta(hours=1)))
    assert world.rental(rental).state is RentalState.ACTIVE
    with world.uow() as unit:
        assert unit.ledger.postings_of(f"fare:{rental.id}") == []


def test_a_close_from_a_later_boot_ends_the_ride_at_its_own_time(world):
    rider, rental = world.riding()
    world.report(closed(rental.lock_id, UNLOCK_BOOT + 1, 1, OPENED + timedelta(seconds=30)))
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.ended_at == OPENED + timedelta(seconds=30)
    assert (ended.duration_seconds, ended.fare_minor) == (30, 150)
    assert world.wallet(rider) == 1000 - 150


def test_the_ride_starts_at_the_locks_time_of_the_unlock(world):
    _, rental = world.riding()
    assert rental.state is RentalState.ACTIVE
    assert rental.started_at == OPENED
    assert (rental.unlock_boot, rental.unlock_seq) == (UNLOCK_BOOT, UNLOCK_SEQ)
    assert world.store.notifications == [(RENTAL_STATE_CHANNEL, str(rental.id))]


def test_an_unlock_dated_before_the_request_starts_the_ride_at_the_request(world):
    asset = world.add_bike("L-early")
    rental = world.request(world.add_rider(), asset)
    world.report(unlocked(rental, at=START - timedelta(seconds=20)))
    assert world.rental(rental).started_at == START


def test_a_close_delivered_late_is_billed_at_the_locks_time_not_its_arrival(world):
    _, rental = world.riding()
    at = OPENED + timedelta(seconds=10)
    late = event(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        LockEventKind.LOCKED,
        at,
        received_at=at + timedelta(hours=3),
        lon=121.4737,
        lat=31.2304,
    )
    world.report(late)
    assert world.rental(rental).duration_seconds == 10


def test_a_lock_clock_running_ahead_never_bills_beyond_the_arrival(world):
    _, rental = world.riding()
    arrived = OPENED + timedelta(minutes=10)
    ahead = event(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        LockEventKind.LOCKED,
        arrived + timedelta(hours=2),
        received_at=arrived,
    )
    world.report(ahead)
    assert world.rental(rental).ended_at == arrived


def test_a_close_without_a_usable_time_counts_at_its_arrival(world):
    _, rental = world.riding()
    arrived = OPENED + timedelta(minutes=40)
    untimed = event(
        rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, LockEventKind.LOCKED, None, received_at=arrived
    )
    world.report(untimed)
    ended = world.rental(rental)
    assert ended.ended_at == arrived
    assert ended.fare_minor == 2 * 150  # 40 minutes: two started half hours


def test_an_event_reusing_a_telemetrys_boot_and_seq_is_refused(world):
    _, rental = world.riding()
    at = OPENED + timedelta(seconds=20)
    world.report(telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at, locked=False))
    forged = closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at + timedelta(seconds=5))
    with pytest.raises(ReportRefused, match="used by telemetry"):
        world.report(forged)
    assert world.rental(rental).state is RentalState.ACTIVE
    assert (rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1) not in world.store.lock_events


def test_an_event_reusing_an_older_fixs_boot_and_seq_is_refused(world):
    # Not the newest fix: the lock's latch report is past the reused pair.
    _, rental = world.riding()
    at = OPENED + timedelta(seconds=20)
    for seq in (UNLOCK_SEQ + 1, UNLOCK_SEQ + 3):
        world.report(telemetry(rental.lock_id, UNLOCK_BOOT, seq, at, locked=False))
    forged = closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at + timedelta(seconds=5))
    with pytest.raises(ReportRefused, match="used by telemetry"):
        world.report(forged)
    assert world.rental(rental).state is RentalState.ACTIVE


@pytest.mark.parametrize(("fixes", "searched"), [((), 0), ((1,), 0), ((1, 3), 1)])
def test_an_event_looks_for_a_fix_of_its_boot_and_seq_only_if_one_can_have_it(
    world, monkeypatch, fixes, searched
):
    # Every stored fix moves the lock's latch report to its own pair when newer: an event
    # past it (the usual order) saves the search of the partitioned fixes.
    _, rental = world.riding()
    at = OPENED + timedelta(seconds=20)
    for step in fixes:
        world.report(telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + step, at, locked=False))
    searches = []
    log = type(world.uow().lock_log)
    search = log.fix_exists

    def counted(self, *args):
        searches.append(args)
        return search(self, *args)

    monkeypatch.setattr(log, "fix_exists", counted)
    world.report(closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 2, at + timedelta(seconds=5)))
    assert len(searches) == searched
    assert world.rental(rental).state is RentalState.ENDED


def test_a_telemetry_reusing_an_events_boot_and_seq_is_refused(world):
    _, rental = world.riding()
    reused = telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ, OPENED, locked=True)
    with pytest.raises(ReportRefused, match="used by an event"):
        world.report(reused)
    assert world.store.lock_positions == {}
    assert world.rental(rental).state is RentalState.ACTIVE


def test_a_repeated_event_is_acknowledged_again_and_applied_once(world):
    rider, rental = world.riding()
    close = closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, OPENED + timedelta(seconds=45))
    first = handle_event(world.uow(), close)
    again = handle_event(world.uow(), close)
    assert (first.first_time, again.first_time) == (True, False)
    expected = AcknowledgeEvent(
        rental.lock_id, world.lock(rental.lock_id).signing_key, UNLOCK_BOOT, UNLOCK_SEQ + 1
    )
    assert first.acknowledgement == again.acknowledgement == expected
    assert world.wallet(rider) == 1000 - 150
    assert world.credit_reasons(rider) == ["clean_ride"]


def test_a_repeated_unlock_confirmation_starts_the_ride_once(world):
    _, rental = world.riding()
    assert world.report(unlocked(rental)) is not None  # acknowledged again
    history = [row.kind for row in world.store.vehicle_events]
    assert history == ["trip_start"]
    assert world.rental(rental).started_at == OPENED


def test_an_event_from_an_unknown_lock_is_refused_and_changes_nothing(world):
    stranger = closed("L-stranger", 1, 2, OPENED)
    with pytest.raises(ReportRefused, match="unknown lock"):
        world.report(stranger)
    assert world.store.lock_events == {}
    with world.uow() as unit:
        assert unit.locks.get("L-stranger") is None


def test_telemetry_from_an_unknown_lock_changes_nothing(world):
    world.report(telemetry("L-stranger", 1, 1, OPENED, locked=True))
    assert world.store.lock_positions == {}
    assert world.store.locks == {}


def test_a_locked_event_with_an_unusable_position_ends_the_ride_with_a_doubt(world):
    _, rental = world.riding()
    broken = event(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        LockEventKind.LOCKED,
        OPENED + timedelta(seconds=5),
        dropped=(("lon", "not finite"),),
    )
    world.report(broken)
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED
    assert ended.parking is Parking.UNKNOWN
    assert ended.position_doubt == "the lock reported no position when it locked"
    assert ended.out_of_zone_fee_minor == 0


def test_the_dropped_fields_of_an_event_are_recorded_for_operators(world):
    _, rental = world.riding()
    broken = event(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        LockEventKind.FAULT,
        OPENED,
        reason="tilt",
        dropped=(("lon", "not finite"), ("lat", "out of range")),
    )
    world.report(broken)
    world.report(broken)  # a repeat records nothing more
    with world.uow() as unit:
        [problem] = unit.lock_log.problems_of(rental.lock_id, 10)
    assert problem.channel == "evt"
    assert (problem.boot, problem.seq) == (UNLOCK_BOOT, UNLOCK_SEQ + 1)
    assert dict(problem.dropped) == {"lon": "not finite", "lat": "out of range"}
    assert problem.received_at == broken.received_at


def test_a_rejected_command_fails_the_unlocking_rental_and_tells_the_app(world):
    asset = world.add_bike("L-reject")
    rental = world.request(world.add_rider(), asset)
    rejection = event(
        rental.lock_id,
        1,
        1,
        LockEventKind.COMMAND_REJECTED,
        START + timedelta(seconds=1),
        command_id=str(rental.unlock_command_id),
        reason="expired",
    )
    unit = world.uow()
    handle_event(unit, rejection)
    failed = world.rental(rental)
    assert (failed.state, failed.failure_reason) == (RentalState.FAILED, FailureReason.REJECTED)
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(rental.id))]


def test_a_rejection_of_a_ride_already_started_changes_nothing(world):
    _, rental = world.riding()
    rejection = event(
        rental.lock_id,
        UNLOCK_BOOT,
        UNLOCK_SEQ + 1,
        LockEventKind.COMMAND_REJECTED,
        OPENED,
        command_id=str(rental.unlock_command_id),
        reason="replayed",
    )
    world.report(rejection)
    assert world.rental(rental).state is RentalState.ACTIVE


def test_an_unlock_answer_for_another_command_starts_nothing_and_raises_an_alert(world):
    asset = world.add_bike("L-stray")
    rental = world.request(world.add_rider(), asset)
    stray = event("L-stray", 1, 1, LockEventKind.UNLOCKED, OPENED, command_id="not-a-uuid")
    world.report(stray)
    assert world.rental(rental).state is RentalState.UNLOCKING
    with world.uow() as unit:
        [alert] = unit.alerts.list(None)
    assert (alert.kind, alert.lock_id, alert.asset_id) == (
        AlertKind.LATCH_OPEN_WITHOUT_RENTAL,
        "L-stray",
        asset.id,
    )
    assert world.lock("L-stray").locked is False


def test_the_latch_follows_the_newest_report_whatever_arrives_last(world):
    _, rental = world.riding()  # unlocked as (5, 10): the latch is open
    handle_telemetry(world.uow(), telemetry(rental.lock_id, UNLOCK_BOOT, 3, START, locked=True))
    assert world.lock(rental.lock_id).locked is False
    world.report(closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, OPENED + timedelta(minutes=1)))
    assert world.lock(rental.lock_id).locked is True


def test_a_ride_ended_by_its_close_is_told_to_the_app_and_kept_in_the_vehicle_history(world):
    _, rental = world.riding()
    unit = world.uow()
    at = OPENED + timedelta(minutes=3)
    handle_event(unit, closed(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at))
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(rental.id))]
    assert [(row.kind, row.at) for row in world.store.vehicle_events] == [
        ("trip_start", OPENED),
        ("trip_end", at),
    ]


def test_a_batch_ends_its_rides_in_transactions_of_their_own_and_refuses_by_position(world):
    """The batch's transaction does not bill the rides its fixes end (each lock that may
    end one is a transaction after it); refusals still name each report's place."""
    rider, rental = world.riding()
    world.add_bike("L-parked")
    at = OPENED + timedelta(seconds=30)
    world.report(closed("L-parked", 1, 7, at))  # (1, 7) now used by an event
    batch = [
        telemetry("L-parked", 1, 8, at, locked=True),
        telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ + 1, at, locked=True),  # the close
        telemetry("L-parked", 1, 7, at, locked=True),  # reuses the event's pair
        telemetry(rental.lock_id, UNLOCK_BOOT, UNLOCK_SEQ, at, locked=True),  # the unlock's
    ]
    unit = world.uow()
    outcome = ingest_telemetry(unit, batch)
    assert unit.commits == 2  # the batch, then the closing lock's own
    assert sorted(outcome.refused) == [2, 3]
    assert {(r.lock_id, r.seq) for r in outcome.applied} == {
        ("L-parked", 8),
        (rental.lock_id, UNLOCK_SEQ + 1),
    }
    ended = world.rental(rental)
    assert ended.state is RentalState.ENDED and ended.ended_at == at
    assert world.wallet(rider) == 1000 - ended.fare_minor
