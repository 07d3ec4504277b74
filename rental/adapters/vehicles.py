"""Nearest available vehicles, from the geography index on lock positions (KNN)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from rental.adapters.availability import available_to_riders
from rental.adapters.repositories import HOLDING_DEVICE, point
from rental.adapters.tables import assets, locks, pricing_plans
from rental.domain.fleet import ServicePolicy


class VehicleSearch:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def nearby(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        kinds: list[str] | None,
        limit: int,
        now: datetime,
        policy: ServicePolicy,
    ) -> list[dict[str, Any]]:
        # geography(x) is the index's own expression; CAST(x AS geography(GEOMETRY,-1)),
        # what a typed cast compiles to, would not match it and scan every lock.
        here = func.geography(point(lon, lat))
        position = func.geography(locks.c.position)
        query = (
            select(
                assets.c.code,
                assets.c.kind,
                assets.c.city_id,
                func.ST_X(locks.c.position).label("lon"),
                func.ST_Y(locks.c.position).label("lat"),
                locks.c.battery_pct,
                func.ST_Distance(position, here).label("distance_m"),
                *(c.label(f"plan__{c.name}") for c in pricing_plans.c),
            )
            .join(assets, HOLDING_DEVICE)
            .outerjoin(
                pricing_plans,
                (pricing_plans.c.city_id == assets.c.city_id)
                & (pricing_plans.c.kind == assets.c.kind)
                & pricing_plans.c.retired_at.is_(None),
            )
            .where(func.ST_DWithin(position, here, radius_m))
            .where(available_to_riders(now, policy))
            # `<->` on geography walks the GiST index nearest first: no sort of every match.
            .order_by(position.op("<->")(here))
            .limit(limit)
        )
        if kinds:
            query = query.where(assets.c.kind.in_(kinds))
        return [dict(row) for row in self._c.execute(query).mappings()]
