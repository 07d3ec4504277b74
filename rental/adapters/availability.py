"""Whether an asset can be rented, as SQL: one definition for scans, search and operators.

The rules themselves are `rental.domain.fleet.unavailable_because`; these expressions
let PostgreSQL apply them to a million vehicles without reading each one.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from rental.adapters.tables import OPEN_RENTAL, assets, damage_reports, locks, rentals, reservations
from rental.domain.fleet import ServicePolicy


def in_use() -> Any:
    return select(rentals.c.id).where(rentals.c.asset_id == assets.c.id, OPEN_RENTAL).exists()


def live_reservation(now: datetime) -> Any:
    return (
        select(reservations.c.id)
        .where(reservations.c.asset_id == assets.c.id, reservations.c.state == "held")
        .where(reservations.c.expires_at > now)
    )


def open_damage_reports() -> Any:
    return (
        select(func.count())
        .where(damage_reports.c.asset_id == assets.c.id, damage_reports.c.state == "open")
        .scalar_subquery()
    )


def available_to_riders(now: datetime, policy: ServicePolicy) -> Any:
    """True for an asset anyone may take now (its lock joined as `locks`)."""
    damaged = (
        select(damage_reports.c.id)
        .where(damage_reports.c.asset_id == assets.c.id, damage_reports.c.state == "open")
        .exists()
    )
    return and_(
        assets.c.in_service,
        locks.c.online,
        locks.c.last_seen_at >= now - policy.silence,
        or_(locks.c.battery_pct.is_(None), locks.c.battery_pct >= policy.low_battery_pct),
        ~in_use(),
        ~live_reservation(now).exists(),
        ~damaged,
    )
