"""Searches that found nothing are counted off the rider's request: the nearby search hands
each one to this process's `UnmetSearchCounter` and answers at once, whatever the primary
database is doing (busy, its pool taken, unreachable). A thread of the process counts them
one by one (`rental.services.unmet_demand.record_unmet_search`).

A full queue drops the search: a count missed is a heatmap a little cooler, a search held
up is a rider waiting. The thread starts with the first search of each process, so a
server that forks its workers after making the app gets one in every worker.
"""

import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from rental.services.commands.assets import SearchNearby
from rental.services.unit_of_work import UnitOfWork
from rental.services.unmet_demand import record_unmet_search

log = logging.getLogger(__name__)

# Searches waiting to be counted; each takes a millisecond or so, so this is seconds of a
# database that does not keep up.
CAPACITY = 1_000


class UnmetSearchCounter:
    def __init__(self, uow: Callable[[], UnitOfWork], capacity: int = CAPACITY) -> None:
        self._uow = uow
        self._waiting: queue.Queue[tuple[SearchNearby, datetime]] = queue.Queue(capacity)
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.dropped = 0

    def add(self, search: SearchNearby, now: datetime) -> bool:
        """Queue the search for counting; never waits. False when the queue was full and
        the search was dropped."""
        self._ensure_running()
        try:
            self._waiting.put_nowait((search, now))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % CAPACITY == 0:
                log.warning("%d unmet search(es) dropped: counting does not keep up", self.dropped)
            return False
        return True

    def wait_until_counted(self) -> None:
        """Block until every search queued so far has been counted."""
        self._waiting.join()

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="unmet-search-counter", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            search, now = self._waiting.get()
            try:
                record_unmet_search(self._uow(), search, now)  # never raises
            finally:
                self._waiting.task_done()
