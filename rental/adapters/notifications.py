"""Wakes HTTP requests waiting for a rental to change state (PostgreSQL LISTEN/NOTIFY).

lockctl commits a state change, then NOTIFYs it (`UnitOfWork.notify`); one listener thread
per API process wakes the requests that wait on that rental, so a phone learns of the
unlock in milliseconds without polling. A notification lost after its commit (the
connection dropped in between) wakes nobody: a waiting request reads the rental again when
its wait ends.

The listener also remembers, for `RECENT_SECONDS`, when each key was last notified: a
request that starts waiting for a rental it has just created (a scan that waits) learns
of a change that came before it registered without reading the rental again.
"""

import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

log = logging.getLogger(__name__)

# Longer than any wait (30 s): a change is remembered for as long as someone may ask.
RECENT_SECONDS = 60.0


class StateChangeListener:
    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        # Key -> when it was last notified (time.monotonic()), oldest first.
        self._recent: OrderedDict[str, float] = OrderedDict()
        # Since when the listener has listened without a break (None: not listening).
        self._listening_since: float | None = None
        self._lock = threading.Lock()
        self._started = False
        self._ready = threading.Event()

    @contextmanager
    def waiting_for(self, key: str, *, since: float | None = None) -> Iterator[threading.Event]:
        """An event set when `key` is notified; register before reading the state to not miss it.

        `since` (a `time.monotonic()` reading): the event is set at once if `key` was
        notified after it, or if the listener was not listening all along since then (it
        may have missed the change). Whoever waits from before anything about `key` could
        be committed (a rental it just created) then need not read it before waiting."""
        self._ensure_started()
        event = threading.Event()
        with self._lock:
            self._waiters[key].add(event)
            if since is not None and self._may_have_changed(key, since):
                event.set()
        try:
            yield event
        finally:
            with self._lock:
                self._waiters[key].discard(event)
                if not self._waiters[key]:
                    del self._waiters[key]

    def _ensure_started(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._listen_forever, name="rental-listener", daemon=True).start()
        self._ready.wait(5)

    def _listen_forever(self) -> None:
        failing = False  # one line per outage, not one traceback a second
        while True:
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {self._channel}")
                    with self._lock:
                        self._listening_since = time.monotonic()
                    if failing:
                        log.warning("listener reconnected")
                    failing = False
                    self._ready.set()
                    for notice in connection.notifies():
                        self._wake(notice.payload)
            except psycopg.Error as error:
                with self._lock:
                    self._listening_since = None
                if not failing:
                    log.warning("listener lost its connection (%s); reconnecting", error)
                failing = True
                self._wake_all()  # waiters re-read the state themselves
                time.sleep(1)

    def _wake(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._remember(key, now)
            waiters = list(self._waiters.get(key, ()))
        for event in waiters:
            event.set()

    def _may_have_changed(self, key: str, since: float) -> bool:
        """Under the lock: `key` was notified after `since`, or could have been unheard."""
        if self._listening_since is None or self._listening_since > since:
            return True
        notified = self._recent.get(key)
        return notified is not None and notified >= since

    def _remember(self, key: str, now: float) -> None:
        """Under the lock: `key` was notified now; forget what is older than RECENT_SECONDS."""
        self._recent[key] = now
        self._recent.move_to_end(key)
        while self._recent and next(iter(self._recent.values())) < now - RECENT_SECONDS:
            self._recent.popitem(last=False)

    def _wake_all(self) -> None:
        with self._lock:
            waiters = [event for events in self._waiters.values() for event in events]
        for event in waiters:
            event.set()
