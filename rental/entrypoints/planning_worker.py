"""The planning worker: takes the plans asked for (an operator's "Plan now", and with the
nightly schedule each city's nightly plan at its hour) and makes them, one at a time, in
this process rather than in a web server's. Run one or several (`python -m rebalancing
worker`): each takes its own queued plan.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from rental.domain.errors import Unavailable
from rental.services import rebalancing_requests
from rental.services.rebalancing_runs import Planner
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# How often the nightly schedule looks at the clock.
SCHEDULE_SECONDS = 30
# The longest a queued plan waits for a worker that missed its notification.
POLL_SECONDS = 5.0
# A worker being stopped notices within this many seconds while it waits.
WAIT_SLICE_SECONDS = 1.0


class Wakeups(Protocol):
    """Plans asked for (`rental.adapters.plan_requests.PlanRequestWakeups`)."""

    def wait(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


class PlanningWorker:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        planner: Planner,
        wakeups: Wakeups,
        *,
        nightly: bool = True,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._planner = planner
        self._wakeups = wakeups
        self._nightly = nightly
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._away = False  # one line per database outage: the worker waits it out

    def run(self) -> None:
        """Until stopped: the schedule's look when due, every queued plan, then a wait."""
        log.info("planning worker started (nightly schedule %s)", "on" if self._nightly else "off")
        next_look = 0.0
        while not self._stopped.is_set():
            try:
                if self._nightly and time.monotonic() >= next_look:
                    rebalancing_requests.request_due_cities(self._uow, self._clock())
                    next_look = time.monotonic() + SCHEDULE_SECONDS
                rebalancing_requests.make_queued_plans(self._uow, self._clock, self._planner)
                self._back()
            except Unavailable as error:
                self._gone(error)
            self._wait()
        self._wakeups.close()

    def _wait(self) -> None:
        waited = 0.0
        while waited < POLL_SECONDS and not self._stopped.is_set():
            if self._wakeups.wait(WAIT_SLICE_SECONDS):
                return
            waited += WAIT_SLICE_SECONDS

    def _gone(self, error: Unavailable) -> None:
        if not self._away:
            log.warning("planning worker waits for the database: %s", error)
        self._away = True

    def _back(self) -> None:
        if self._away:
            log.info("the database answers again")
        self._away = False

    # --- in a thread (the end-to-end tests) ------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="planning-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()

    def request_stop(self) -> None:
        """From a signal handler: `run` returns after the plan it is making, if any."""
        self._stopped.set()
