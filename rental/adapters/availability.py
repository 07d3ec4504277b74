"""Whether an asset can be rented, as SQL: one definition for scans, search and operators.

The rules themselves are `rental.domain.fleet.unavailable_because`; these expressions
let PostgreSQL apply them to a million vehicles without reading each one.
"""

from typing import Any

from sqlalchemy import and_, func, or_, select

from rental.adapters.tables import (
    HELD_RESERVATION,
    OPEN_DAMAGE_REPORT,
    OPEN_RENTAL,
    assets,
    damage_reports,
    locks,
    rentals,
    reservations,
)


def in_use() -> Any:
    return select(rentals.c.id).where(rentals.c.asset_id == assets.c.id, OPEN_RENTAL).exists()


def live_reservation(now: Any) -> Any:
    return (
        select(reservations.c.id)
        .where(reservations.c.asset_id == assets.c.id, HELD_RESERVATION)
        .where(reservations.c.expires_at > now)
    )


def open_damage_reports() -> Any:
    return (
        select(func.count())
        .where(damage_reports.c.asset_id == assets.c.id, OPEN_DAMAGE_REPORT)
        .scalar_subquery()
    )


def damaged_assets() -> Any:
    """The ids of assets with an open damage report: `assets.c.id.in_(damaged_assets())`
    is one hash lookup per row where a correlated EXISTS would be one index scan each."""
    return select(damage_reports.c.asset_id).where(OPEN_DAMAGE_REPORT)


def held_assets(now: Any) -> Any:
    """The ids of assets a live reservation holds at `now` (see `damaged_assets`)."""
    return select(reservations.c.asset_id).where(HELD_RESERVATION, reservations.c.expires_at > now)


def serviceable(
    heard_since: Any, low_battery_pct: Any, device: Any = locks, damaged: Any = None
) -> Any:
    """Fit to ride when not rented: in service, no open damage report, charged enough, its
    device heard from since `heard_since` (now less the policy's silence), its latch not
    reported open (an open latch with no rental is a late unlock or a forced lock) nor
    unknown since an unanswered unlock. GBFS
    calls the opposite `is_disabled`. The arguments are values or bind parameters;
    `device` is the asset's device as joined (`locks`, or a subquery with its columns),
    `damaged` true for a damaged asset (by default a correlated NOT EXISTS)."""
    if damaged is None:
        damaged = (
            select(damage_reports.c.id)
            .where(damage_reports.c.asset_id == assets.c.id, OPEN_DAMAGE_REPORT)
            .exists()
        )
    # A plain conjunction, so that in a WHERE the planner can use each part on its own
    # (the damage check becomes an anti-join); NULL (a lock never seen) counts as false.
    return and_(
        in_working_order(low_battery_pct, device),
        device.c.last_seen_at >= heard_since,
        ~damaged,
    )


def in_working_order(low_battery_pct: Any, device: Any = locks) -> Any:
    """What `serviceable` asks of an asset and its device but to have been heard from
    lately and to have no open damage report: in service, online, charged enough, its
    latch neither reported open nor unknown. NULL (a lock never seen) counts as false."""
    return and_(
        assets.c.in_service,
        device.c.online,
        or_(device.c.battery_pct.is_(None), device.c.battery_pct >= low_battery_pct),
        device.c.locked.isnot(False),
        device.c.latch_unknown_since.is_(None),
    )


def available_to_riders(now: Any, heard_since: Any, low_battery_pct: Any) -> Any:
    """True for an asset anyone may take now (its device joined as `locks`)."""
    return and_(
        serviceable(heard_since, low_battery_pct),
        ~in_use(),
        ~live_reservation(now).exists(),
    )
