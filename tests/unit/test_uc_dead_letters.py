"""Dead letters in memory (`rental.services.dead_letters`, docs/lock-protocol.md §9): kept
with why, acknowledged to their lock when they are events, listed for operators, and
replayed through a decoder (the tiny `JsonDecoder` of tests/unit/world.py) once their
cause is fixed."""

import json
from datetime import timedelta

import pytest

from rental.domain.errors import Conflict, NotFound
from rental.domain.rentals import RentalState
from rental.services import dead_letters
from rental.services.lock_commands import AcknowledgeEvent
from rental.services.lock_reports import ReportDecoder
from tests.unit.world import (
    HOME,
    OPENED,
    START,
    UNLOCK_BOOT,
    UNLOCK_SEQ,
    JsonDecoder,
    World,
    closed,
    ms,
)

NOW = START + timedelta(hours=2)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def decoder() -> JsonDecoder:
    return JsonDecoder()


def payload(**message) -> bytes:
    return json.dumps(message).encode()


def keep(world: World, topic: str, message: bytes, at=START, reason="refused") -> int:
    return dead_letters.store_dead_letter(world.uow(), topic, message, reason, at)


def replay(world: World, decoder: ReportDecoder, letter_id: int, now=NOW):
    return dead_letters.replay_dead_letter(world.uow, decoder, letter_id, now, world.settings)


def test_the_tiny_decoder_is_a_report_decoder(decoder):
    port: ReportDecoder = decoder  # mypy checks that it fits the port
    assert port.event_identity("L-1", payload(channel="evt", boot=1, seq=2)) is not None


def test_a_dead_letter_keeps_the_message_and_why_within_their_limits(world):
    letter_id = keep(world, "t" * 600, b"x" * 10_000, reason="r" * 2000)
    [letter] = dead_letters.dead_letters(world.uow(), open_only=True, limit=10)
    assert letter.id == letter_id
    assert (len(letter.topic), len(letter.payload), len(letter.reason)) == (512, 8192, 1000)
    assert (letter.received_at, letter.replayed_at) == (START, None)


def test_a_message_resent_while_its_dead_letter_is_open_is_kept_once(world):
    first = keep(world, "L-1", b"{}")
    assert keep(world, "L-1", b"{}", at=START + timedelta(seconds=10)) == first
    assert len(world.store.dead_letters) == 1


def test_dead_letters_are_listed_newest_first_and_paged_by_id(world):
    ids = [keep(world, f"L-{n}", b"{}") for n in range(3)]
    with world.uow() as unit:
        unit.dead_letters.mark_replayed(ids[1], NOW, "processed")
        unit.commit()

    def listed(**how) -> list[int]:
        return [letter.id for letter in dead_letters.dead_letters(world.uow(), **how)]

    assert listed(open_only=False, limit=10) == ids[::-1]
    assert listed(open_only=True, limit=10) == [ids[2], ids[0]]
    assert listed(open_only=False, limit=10, before_id=ids[2]) == [ids[1], ids[0]]
    assert listed(open_only=False, limit=1) == [ids[2]]


def test_an_event_kept_as_a_dead_letter_is_acknowledged_when_its_lock_is_known(world, decoder):
    lock = world.add_lock("L-known")
    message = payload(channel="evt", boot=3, seq=42, type="nonsense")
    acknowledgement = dead_letters.acknowledgement_for_refused(
        world.uow(), decoder, "L-known", message
    )
    assert acknowledgement == AcknowledgeEvent("L-known", lock.signing_key, 3, 42)


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        pytest.param("L-nobody", payload(channel="evt", boot=3, seq=42), id="an unknown lock"),
        pytest.param("L-known", b"\xff not json", id="an unreadable message"),
        pytest.param("L-known", payload(channel="evt", boot=3), id="no seq"),
        pytest.param("L-known", payload(channel="telemetry", boot=3, seq=4), id="telemetry"),
    ],
)
def test_nothing_is_acknowledged_for_a_message_that_names_no_known_event(
    world, decoder, topic, message
):
    world.add_lock("L-known")
    assert dead_letters.acknowledgement_for_refused(world.uow(), decoder, topic, message) is None


def test_a_replay_of_an_unknown_dead_letter_is_not_found(world, decoder):
    with pytest.raises(NotFound) as refused:
        replay(world, decoder, 99)
    assert refused.value.code == "dead_letter_not_found"


def test_a_replay_still_refused_stays_open_with_why(world, decoder):
    message = payload(channel="evt", boot=1, seq=1, type="fault", ts=ms(START), reason="tilt")
    letter_id = keep(world, "L-later", message)
    with pytest.raises(Conflict) as refused:
        replay(world, decoder, letter_id)
    assert refused.value.code == "replay_refused"
    [letter] = dead_letters.dead_letters(world.uow(), open_only=True, limit=10)
    assert letter.replayed_at is None
    assert letter.replay_outcome == "refused again: event from unknown lock L-later"


def test_a_replay_of_a_message_that_is_no_report_is_refused(world, decoder):
    letter_id = keep(world, "L-1", b"[1, 2, 3]")
    with pytest.raises(Conflict, match="not a JSON object"):
        replay(world, decoder, letter_id)


def test_a_dead_letter_replayed_once_its_lock_is_registered_is_processed_once(world, decoder):
    message = payload(channel="evt", boot=1, seq=7, type="fault", ts=ms(START), reason="tilt")
    letter_id = keep(world, "L-later", message)
    lock = world.add_lock("L-later")
    letter, acknowledgement = replay(world, decoder, letter_id)
    assert (letter.replayed_at, letter.replay_outcome) == (NOW, "processed")
    assert acknowledgement == AcknowledgeEvent("L-later", lock.signing_key, 1, 7)
    assert world.store.lock_events[("L-later", 1, 7)].type == "fault"
    with pytest.raises(Conflict) as again:
        replay(world, decoder, letter_id)
    assert again.value.code == "already_replayed"


def test_a_replay_decodes_the_message_at_its_original_arrival_time(world, decoder):
    world.add_lock("L-status")
    arrived = START + timedelta(minutes=3)
    letter_id = keep(world, "L-status", payload(channel="status", online=False, boot=2), arrived)
    _, acknowledgement = replay(world, decoder, letter_id)
    assert acknowledgement is None  # only events are acknowledged
    assert decoder.decoded == [arrived]
    lock = world.lock("L-status")
    assert (lock.online, lock.last_seen_at) == (False, arrived)


def test_a_replayed_unlock_ends_the_ride_at_the_close_stored_meanwhile(world, decoder):
    # The unlock failed unexpectedly and went to the dead letters; its close was stored,
    # and the rental timed out. Replayed after the fix, the ride is the rider's, and over.
    asset = world.add_bike("L-lost")
    rider = world.add_rider()
    rental = world.request(rider, asset)
    unlock = payload(
        channel="evt",
        boot=UNLOCK_BOOT,
        seq=UNLOCK_SEQ,
        type="unlocked",
        ts=ms(OPENED),
        command_id=str(rental.unlock_command_id),
    )
    letter_id = keep(world, "L-lost", unlock, at=OPENED + timedelta(seconds=1))
    world.report(closed("L-lost", UNLOCK_BOOT, UNLOCK_SEQ + 1, OPENED + timedelta(minutes=40)))
    world.time_out(rental)
    replay(world, decoder, letter_id)
    ended = world.rental(rental)
    assert (ended.state, ended.started_at) == (RentalState.ENDED, OPENED)
    assert ended.ended_at == OPENED + timedelta(minutes=40)
    assert world.store.rentals[rental.id].end_position == HOME
    assert world.wallet(rider) == 1000 - 2 * 150
