"""How long we keep where locks were. Raw fixes and lock events say where a bike, and so
its rider, went; they serve trips in progress, disputes and MDS telemetry, and are
forgotten after the retention period. A finished trip keeps its own simplified path
(the rider's receipt and disputes), and MDS keeps vehicle events, which name no rider.
"""

from datetime import datetime, timedelta

from rental.services.unit_of_work import UnitOfWork

# Deleted in slices, each its own transaction, so that reports keep flowing meanwhile.
BATCH = 5_000


def forget_old_lock_reports(uow: UnitOfWork, now: datetime, keep: timedelta) -> int:
    """Delete fixes and lock events older than `keep`; returns how many rows went."""
    total = 0
    while True:
        with uow:
            deleted = uow.lock_log.forget_before(now - keep, BATCH)
            uow.commit()
        total += deleted
        if deleted == 0:
            return total
