"""Wakes HTTP requests waiting for a rental to change state (PostgreSQL LISTEN/NOTIFY).

lockctl commits a state change with NOTIFY; one listener thread per API process
wakes the requests that wait on that rental, so a phone learns of the unlock in
milliseconds without polling.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

log = logging.getLogger(__name__)


class StateChangeListener:
    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._lock = threading.Lock()
        self._started = False
        self._ready = threading.Event()

    @contextmanager
    def waiting_for(self, key: str) -> Iterator[threading.Event]:
        """An event set when `key` is notified; register before reading the state to not miss it."""
        self._ensure_started()
        event = threading.Event()
        with self._lock:
            self._waiters[key].add(event)
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
                    if failing:
                        log.warning("listener reconnected")
                    failing = False
                    self._ready.set()
                    for notice in connection.notifies():
                        self._wake(notice.payload)
            except psycopg.Error as error:
                if not failing:
                    log.warning("listener lost its connection (%s); reconnecting", error)
                failing = True
                self._wake_all()  # waiters re-read the state themselves
                time.sleep(1)

    def _wake(self, key: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(key, ()))
        for event in waiters:
            event.set()

    def _wake_all(self) -> None:
        with self._lock:
            waiters = [event for events in self._waiters.values() for event in events]
        for event in waiters:
            event.set()
