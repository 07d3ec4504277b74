"""Nearest available vehicles, from the geography index on parked positions (KNN)."""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from rental.adapters.availability import available_to_riders
from rental.adapters.pricing_plans import (
    CURRENT_PLAN_OF_ASSET,
    PLAN_COLUMNS,
    PLAN_PREFIX,
    joined_plan,
)
from rental.adapters.repositories import HOLDING_DEVICE
from rental.adapters.tables import assets, locks, pricing_plans
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.pricing import PricingPlan
from rental.services.read_models import NearbyVehicle


class VehicleSearch:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def nearby(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        kinds: list[AssetKind] | None,
        limit: int,
        now: datetime,
        policy: ServicePolicy,
    ) -> list[NearbyVehicle]:
        values = {
            "lon": lon,
            "lat": lat,
            "radius_m": radius_m,
            "limit": limit,
            "now": now,
            "heard_since": now - policy.silence,
            "low_battery_pct": policy.low_battery_pct,
        }
        if kinds:
            values["kinds"] = [kind.value for kind in kinds]
        sql, constants = _nearby_sql(self._c.dialect, bool(kinds))
        rows = self._c.exec_driver_sql(sql, {**constants, **values}).mappings().all()
        plans: dict[Any, PricingPlan | None] = {}  # by id: twenty vehicles, a plan or two
        found = []
        for row in rows:
            plan_id = row[f"{PLAN_PREFIX}id"]
            if plan_id not in plans:
                plans[plan_id] = joined_plan(row)
            found.append(
                NearbyVehicle(
                    row["code"],
                    AssetKind(row["kind"]),
                    row["city_id"],
                    row["lon"],
                    row["lat"],
                    row["distance_m"],
                    row["battery_pct"],
                    plans[plan_id],
                )
            )
        return found


@cache
def _nearby_sql(dialect: Dialect, by_kind: bool) -> tuple[str, dict[str, Any]]:
    """The search as SQL text for the driver, compiled once, and the constants it binds.
    Executing the built statement made SQLAlchemy derive its cache key again on every
    call: some 7 % of the search's CPU in the API process (docs/performance.md)."""
    compiled = _nearby_query(by_kind).compile(dialect=dialect)
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return str(compiled), constants


@cache
def _nearby_query(by_kind: bool) -> Select[Any]:
    """Built once: the search runs often enough that building it per call would cost more
    than the database's work."""
    # geography(x) is the index's own expression; CAST(x AS geography(GEOMETRY,-1)),
    # what a typed cast compiles to, would not match it and scan every lock.
    here = func.geography(
        func.ST_SetSRID(
            func.ST_MakePoint(bindparam("lon", type_=Float), bindparam("lat", type_=Float)), 4326
        )
    )
    # Searched by where it is parked (a riding vehicle has none), the index's column.
    position = func.geography(locks.c.parked_position)
    query = (
        select(
            assets.c.code,
            assets.c.kind,
            assets.c.city_id,
            func.ST_X(locks.c.parked_position).label("lon"),
            func.ST_Y(locks.c.parked_position).label("lat"),
            locks.c.battery_pct,
            func.ST_Distance(position, here).label("distance_m"),
            *PLAN_COLUMNS,
        )
        .join(assets, HOLDING_DEVICE)
        .outerjoin(pricing_plans, CURRENT_PLAN_OF_ASSET)
        .where(func.ST_DWithin(position, here, bindparam("radius_m", type_=Float)))
        .where(
            available_to_riders(
                bindparam("now", type_=DateTime(timezone=True)),
                bindparam("heard_since", type_=DateTime(timezone=True)),
                bindparam("low_battery_pct", type_=Integer),
            )
        )
        # `<->` on geography walks the GiST index nearest first: no sort of every match.
        .order_by(position.op("<->")(here))
        .limit(bindparam("limit", type_=Integer))
    )
    if by_kind:  # = ANY(array): compiled once, where IN (...) is written per call
        query = query.where(assets.c.kind == func.any(bindparam("kinds", type_=ARRAY(String))))
    return query
