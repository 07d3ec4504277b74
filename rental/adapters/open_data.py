"""What the public feeds read: a city's vehicles with their public state, in one query."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, not_, or_, select

from rental.adapters.availability import in_use, live_reservation
from rental.adapters.repositories import HOLDING_DEVICE
from rental.adapters.tables import OPEN_DAMAGE_REPORT, assets, cities, damage_reports, locks
from rental.domain.fleet import ServicePolicy


class OpenDataRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def city(self, city_id: str) -> dict[str, Any] | None:
        row = (
            self._c.execute(
                select(cities.c.id, cities.c.name, cities.c.timezone, cities.c.currency).where(
                    cities.c.id == city_id
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def city_ids(self) -> list[str]:
        return list(self._c.execute(select(cities.c.id).order_by(cities.c.id)).scalars())

    def vehicles(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> list[dict[str, Any]]:
        """Vehicles not in a rental, with a position, and whether riders could take them."""
        damaged = select(damage_reports.c.id).where(
            damage_reports.c.asset_id == assets.c.id, OPEN_DAMAGE_REPORT
        )
        disabled = or_(
            not_(assets.c.in_service),
            damaged.exists(),
            locks.c.battery_pct < policy.low_battery_pct,
            not_(locks.c.online),
            locks.c.last_seen_at < now - policy.silence,
        )
        query = (
            select(
                assets.c.public_id,
                assets.c.kind,
                func.ST_X(locks.c.position).label("lon"),
                func.ST_Y(locks.c.position).label("lat"),
                locks.c.battery_pct,
                locks.c.last_seen_at,
                live_reservation(now).exists().label("reserved"),
                func.coalesce(disabled, False).label("disabled"),
            )
            .join(locks, HOLDING_DEVICE)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(kinds))
            .where(locks.c.position.isnot(None))
            .where(~in_use())
        )
        return [dict(row) for row in self._c.execute(query).mappings()]
