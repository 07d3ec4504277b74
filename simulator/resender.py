"""A lock's resender: a thread that sends what its outbox says is due, then sleeps until
the next due time or until woken (a new event, a new connection, going offline)."""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# How long stop() waits for the thread to notice (it is woken at once; this only bounds
# a flush that hangs).
JOIN_SECONDS = 2.0


class Resender:
    """`flush()` sends what is due and returns the seconds until the next due time, or
    None to sleep until woken. The thread starts at once and runs until `stop()`."""

    def __init__(self, flush: Callable[[], float | None], name: str) -> None:
        self._flush = flush
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(JOIN_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before flushing: a wake during the flush is not lost
            try:
                wait = self._flush()
            except Exception:
                log.exception("resending failed")
                wait = 1.0
            self._wake.wait(wait)
