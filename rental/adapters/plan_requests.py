"""Wakes a planning worker when a plan is asked for (PostgreSQL LISTEN on the channel a
queued plan is announced on, `rental.services.rebalancing_runs.PLAN_REQUESTS_CHANNEL`), so
that an operator's plan starts within moments rather than at the next poll. The worker
polls too: a notification lost to a dropped connection costs at most one poll's wait.
"""

import logging
import time

import psycopg

log = logging.getLogger(__name__)


class PlanRequestWakeups:
    """One connection of its own, opened on the first wait and again after a loss."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._failing = False  # one line per outage

    def wait(self, timeout: float) -> bool:
        """True at the first plan asked for within `timeout` seconds (or one asked for
        since the last wait), False when none was. Without the database it sleeps the
        timeout out: the caller's poll finds the outage itself."""
        try:
            connection = self._listening()
            for _ in connection.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except psycopg.Error as error:
            if not self._failing:
                log.warning("plan requests: no notifications (%s); polling meanwhile", error)
            self._failing = True
            self.close()
            time.sleep(timeout)
            return False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _listening(self) -> "psycopg.Connection[tuple[object, ...]]":
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._connection.execute(f"LISTEN {self._channel}")
            if self._failing:
                log.info("plan requests: notifications again")
            self._failing = False
        return self._connection
