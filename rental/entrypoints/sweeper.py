"""lockctl's periodic pass: unlocks nobody answered fail, expired reservations end, the
latches locks report are reconciled with the rentals, items never returned are charged
as sold, payment orders nobody paid in time expire, and lock reports, sign-in sessions,
counts of searches that found nothing and the rider funnel's marks past their retention
are forgotten (and room for the coming days' fixes made).
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from rental.domain.errors import Unavailable
from rental.services import items, payments
from rental.services.alerts import reconcile_latches
from rental.services.funnel import forget_old_marks
from rental.services.rentals import fail_unanswered_unlocks
from rental.services.reservations import expire_reservations
from rental.services.retention import (
    forget_old_lock_reports,
    forget_old_unmet_searches,
    forget_unattached_photos,
    prepare_fix_days,
)
from rental.services.sessions import forget_old_sessions
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 0.5
# Latches against rentals every 10 s: an open latch is hidden at once by the scan rules,
# the alert can wait a few seconds.
RECONCILE_SWEEPS = 20
# Items run into their replacement price over days: a look every half minute is plenty.
LOST_ITEM_SWEEPS = 60
# Unpaid orders already stop counting when their time is up: marking them is for the
# rider's view of the order, every half minute too.
PAYMENT_EXPIRY_SWEEPS = 60
# ... and forgets lock reports and sessions past their retention once an hour (and at start).
RETENTION_SWEEPS = 7200


class Sweeper:
    """The pass every SWEEP_INTERVAL_SECONDS, its rarer steps every so many sweeps."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        *,
        answer_grace: timedelta,
        wallet_floor_minor: int,
        lock_log_retention: timedelta,
        session_retention: timedelta = timedelta(days=30),
        funnel_retention: timedelta = timedelta(days=90),
        unmet_demand_retention: timedelta = timedelta(days=90),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._answer_grace = answer_grace
        self._wallet_floor = wallet_floor_minor
        self._retention = lock_log_retention
        self._session_retention = session_retention
        self._funnel_retention = funnel_retention
        self._unmet_demand_retention = unmet_demand_retention

    def run(self, stop: threading.Event) -> None:
        """Sweep every SWEEP_INTERVAL_SECONDS until `stop` is set; a failed sweep is
        logged and the next one tries again."""
        sweeps = 0
        away = False  # one line per database outage, not two a second
        while not stop.wait(SWEEP_INTERVAL_SECONDS):
            sweeps += 1
            try:
                self.sweep(sweeps)
            except Unavailable as error:
                if not away:
                    log.warning("sweeping waits for the database: %s", error)
                away = True
                continue
            except Exception:
                log.exception("sweeping unanswered unlocks and holds failed; retrying")
                continue
            if away:
                log.info("sweeping again: the database answers")
            away = False

    def sweep(self, sweeps: int) -> None:
        failed = fail_unanswered_unlocks(self._uow(), self._clock(), self._answer_grace)
        if failed:
            log.info("unlock timed out for %d rental(s)", len(failed))
        released = expire_reservations(self._uow(), self._clock(), self._wallet_floor)
        if released:
            log.info("released %d expired reservation(s)", released)
        if sweeps % RECONCILE_SWEEPS == 1:
            found = reconcile_latches(self._uow(), self._clock(), self._wallet_floor)
            if found.rides_ended or found.alerts_opened or found.alerts_resolved:
                log.warning("latches against rentals: %s", found)
        if sweeps % LOST_ITEM_SWEEPS == 1:
            lost = items.end_unreturned(self._uow(), self._clock(), self._wallet_floor)
            if lost:
                log.info("%d item(s) never returned were charged as sold", lost)
        if sweeps % PAYMENT_EXPIRY_SWEEPS == 2:  # not in the same pass as the items'
            expired = payments.expire_orders(self._uow(), self._clock())
            if expired:
                log.info("%d payment order(s) expired unpaid", expired)
        if sweeps % RETENTION_SWEEPS == 1:
            made = prepare_fix_days(self._uow(), self._clock())
            if made:
                log.info("made room for the fixes of %d more day(s)", made)
            forgotten = forget_old_lock_reports(self._uow(), self._clock(), self._retention)
            if forgotten:
                log.info("forgot %d lock report(s) past their retention", forgotten)
            ended = forget_old_sessions(self._uow(), self._clock(), self._session_retention)
            if ended:
                log.info("forgot %d session(s) and spent refresh token(s)", ended)
            marks = forget_old_marks(self._uow(), self._clock(), self._funnel_retention)
            if marks:
                log.info("forgot %d rider funnel mark(s) past their retention", marks)
            counts = forget_old_unmet_searches(
                self._uow(), self._clock(), self._unmet_demand_retention
            )
            if counts:
                log.info("forgot %d count(s) of searches that found nothing", counts)
            photos = forget_unattached_photos(self._uow(), self._clock())
            if photos:
                log.info("deleted %d damage photo(s) no report named", photos)
