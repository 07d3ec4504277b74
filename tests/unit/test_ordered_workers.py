"""lockctl's workers: each lock's messages in order, and which locks have one in hand."""

import threading
import zlib

from rental.adapters.locks.mqtt import Message
from rental.entrypoints.ordered_workers import OrderedWorkers
from tests.helpers import eventually


def message(lock_id: str, n: int) -> Message:
    return Message(f"v1/locks/{lock_id}/evt", str(n).encode())


def test_a_lock_is_busy_while_a_message_of_it_waits_or_is_handled_even_one_that_fails():
    release = threading.Event()
    handled: list[tuple[str, bytes]] = []
    done: list[bytes] = []

    def handle(received: Message) -> None:
        release.wait(5)
        handled.append((received.topic, received.payload))
        if received.payload == b"2":
            raise RuntimeError("the database went away")

    workers = OrderedWorkers(2, handle, lambda received: done.append(received.payload))
    workers.start()
    try:
        for n in (1, 2, 3):
            workers.submit(message("L-A", n))
        assert workers.busy("L-A") and not workers.busy("L-B")
        release.set()
        eventually(lambda: len(handled) == 3, timeout=5, what="all three handled")
        eventually(lambda: not workers.busy("L-A"), timeout=5, what="L-A settled")
    finally:
        workers.stop()
    assert [payload for _, payload in handled] == [b"1", b"2", b"3"]  # the lock's order
    assert done == [b"1", b"3"]  # the failed one is not acknowledged


def test_a_topic_without_a_lock_level_is_handled_all_the_same():
    handled = threading.Event()
    workers = OrderedWorkers(2, lambda _: handled.set(), lambda _: None)
    workers.start()
    try:
        workers.submit(Message("v1", b"{}"))
        assert handled.wait(5)
        eventually(lambda: not workers.busy(""), timeout=5, what="settled")
    finally:
        workers.stop()


def test_each_locks_messages_go_to_the_thread_its_id_picks():
    # The routing is part of the order: a lock's messages must always meet on one thread.
    threads: dict[str, set[str]] = {}
    handled: list[Message] = []

    def handle(received: Message) -> None:
        lock_id = received.topic.split("/")[2]
        threads.setdefault(lock_id, set()).add(threading.current_thread().name)
        handled.append(received)

    workers = OrderedWorkers(4, handle, lambda _: None)
    workers.start()
    lock_ids = [f"L-{n}" for n in range(6)]
    try:
        for n in range(3):
            for lock_id in lock_ids:
                workers.submit(message(lock_id, n))
        eventually(lambda: len(handled) == 18, what="all handled")
    finally:
        workers.stop()
    assert threads == {
        lock_id: {f"lockctl-{zlib.crc32(lock_id.encode()) % 4}"} for lock_id in lock_ids
    }
