"""Messages handled on several threads, each lock's in order: lockctl's workers."""

import logging
import queue
import threading
import zlib
from collections import Counter
from collections.abc import Callable

from rental.adapters.locks.mqtt import Message

log = logging.getLogger(__name__)


class OrderedWorkers:
    """Handles messages on several threads, always those of one lock on the same thread.

    A lock's reports stay in order (its unlock before its lock) while different locks'
    reports are handled side by side. `done` runs after each message that was handled
    (processed or kept as a dead letter), never after one that failed: the broker (or the
    lock, for events) delivers that one again. `busy(lock_id)` says whether a message of
    that lock is waiting or being handled.
    """

    def __init__(
        self, count: int, handle: Callable[[Message], None], done: Callable[[Message], None]
    ) -> None:
        # Each message with its lock's id, read from the topic once.
        self._queues: list[queue.SimpleQueue[tuple[str, Message] | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._handle = handle
        self._done = done
        self._in_flight: Counter[str] = Counter()
        self._in_flight_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"lockctl-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for work in self._queues:
            work.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def depth(self) -> int:
        """Messages waiting for a worker (the ones being handled not counted)."""
        return sum(work.qsize() for work in self._queues)

    def busy(self, lock_id: str) -> bool:
        return lock_id in self._in_flight

    def submit(self, message: Message) -> None:
        # The lock id is the third topic level; a stable hash keeps one lock on one thread.
        lock_id = _lock_of(message)
        with self._in_flight_lock:
            self._in_flight[lock_id] += 1
        self._queues[zlib.crc32(lock_id.encode()) % len(self._queues)].put((lock_id, message))

    def _work(self, work: "queue.SimpleQueue[tuple[str, Message] | None]") -> None:
        while (item := work.get()) is not None:
            lock_id, message = item
            try:
                self._handle(message)
            except Exception:
                log.exception("handling a message on %s failed; not acknowledged", message.topic)
                continue
            else:
                self._acknowledge(message)
            finally:
                self._settled(lock_id)

    def _acknowledge(self, message: Message) -> None:
        # A worker that died here would leave its locks' later messages unhandled.
        try:
            self._done(message)
        except Exception:
            log.exception("acknowledging a message on %s failed", message.topic)

    def _settled(self, lock_id: str) -> None:
        with self._in_flight_lock:
            self._in_flight[lock_id] -= 1
            if self._in_flight[lock_id] <= 0:
                del self._in_flight[lock_id]


def _lock_of(message: Message) -> str:
    """The lock a message's topic names (its third level); "" for a topic too short."""
    levels = message.topic.split("/", 3)
    return levels[2] if len(levels) >= 3 else ""
