"""How long we keep where locks were. Raw fixes and lock events say where a bike, and so
its rider, went; they serve trips in progress, disputes and MDS telemetry, and are
forgotten after the retention period. A finished trip keeps its own simplified path
(the rider's receipt and disputes), and MDS keeps vehicle events, which name no rider.

A damage photo no report names (the rider gave up, or the report was refused) is kept a
day, for the report to be sent again, then deleted: it holds a picture and its uploader.

Searches that found no vehicle are counts per city, grid cell and hour, naming no rider
(`rental.domain.unmet_demand`); they are forgotten after their own retention all the same.

Fixes are kept by UTC day: a day is forgotten at once when all of it is past the
retention (so a fix is kept up to a day longer), and room for the coming days is made
ahead of time, so that storing a fix never has to.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rental.services.unit_of_work import UnitOfWork

# Deleted in slices, each its own transaction, so that reports keep flowing meanwhile.
BATCH = 5_000
# Room for the fixes of this many days ahead: lockctl may be down that long.
DAYS_AHEAD = 7
# How long an uploaded photo waits for the report that names it.
UNATTACHED_PHOTO_KEPT = timedelta(days=1)


def prepare_fix_days(uow: UnitOfWork, now: datetime, days_ahead: int = DAYS_AHEAD) -> int:
    """Make room for the fixes of today and the next `days_ahead` days (UTC); how many
    days were new."""
    today = now.astimezone(UTC).date()
    with uow:
        made = uow.lock_log.prepare_fix_days(today, today + timedelta(days=days_ahead))
        uow.commit()
    return made


def forget_old_lock_reports(uow: UnitOfWork, now: datetime, keep: timedelta) -> int:
    """Forget fixes and lock events older than `keep`; returns about how many went (whole
    days of fixes are counted by the database's estimate)."""
    with uow:
        days = uow.lock_log.forget_fix_days_before(now - keep)
        uow.commit()
    return days + in_batches(uow, lambda: uow.lock_log.forget_before(now - keep, BATCH))


def forget_old_unmet_searches(uow: UnitOfWork, now: datetime, keep: timedelta) -> int:
    """Forget the counts of searches that found nothing in hours older than `keep`; how
    many counts went."""
    return in_batches(uow, lambda: uow.unmet_demand.forget_before(now - keep, BATCH))


def forget_unattached_photos(
    uow: UnitOfWork, now: datetime, keep: timedelta = UNATTACHED_PHOTO_KEPT
) -> int:
    """Delete damage photos uploaded more than `keep` ago that no report names; how many."""
    return in_batches(uow, lambda: uow.damage_photos.forget_unattached_before(now - keep, BATCH))


def in_batches(uow: UnitOfWork, forget_one_batch: Callable[[], int]) -> int:
    """`forget_one_batch` (deleting at most BATCH rows through `uow`, answering how many)
    run in transactions of its own until nothing is left; how many rows went in all."""
    total = 0
    while True:
        with uow:
            deleted = forget_one_batch()
            uow.commit()
        total += deleted
        if deleted == 0:
            return total
