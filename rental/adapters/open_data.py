"""What the public feeds read: a city's vehicles with their public state, in one query."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Numeric,
    Text,
    case,
    func,
    literal_column,
    select,
)

from rental.adapters.availability import in_use, live_reservation, serviceable
from rental.adapters.repositories import HOLDING_DEVICE
from rental.adapters.tables import RUNNING_CITY, assets, cities, locks
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.gbfs import EBIKE_RANGE_METERS
from rental.services.read_models import City


class OpenDataRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def city(self, city_id: str) -> City | None:
        row = (
            self._c.execute(
                select(
                    cities.c.id,
                    cities.c.name,
                    cities.c.timezone,
                    cities.c.currency,
                    cities.c.locale,
                ).where(cities.c.id == city_id, RUNNING_CITY)
            )
            .mappings()
            .first()
        )
        return City(**row) if row else None

    def city_ids(self) -> list[str]:
        query = select(cities.c.id).where(RUNNING_CITY).order_by(cities.c.id)
        return list(self._c.execute(query).scalars())

    def vehicles_json(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> str:
        """GBFS `vehicles` as a JSON array, rendered by PostgreSQL: a city of 100,000
        vehicles is some 26 MB of JSON, better built where the rows are than as 100,000
        Python dicts. Vehicles in a rental are left out; the public id rotates per trip."""
        charge = locks.c.battery_pct / 100.0
        common: list[Any] = [
            "vehicle_id",
            assets.c.public_id,
            "lat",
            func.round(func.ST_Y(locks.c.position).cast(Numeric), 6),
            "lon",
            func.round(func.ST_X(locks.c.position).cast(Numeric), 6),
            "is_reserved",
            live_reservation(now).exists(),
            "is_disabled",
            ~func.coalesce(serviceable(now - policy.silence, policy.low_battery_pct), False),
            "vehicle_type_id",
            assets.c.kind,
            "pricing_plan_id",
            assets.c.kind,
            # RFC 3339 with its offset, which JSON's own rendering of a timestamptz is.
            "last_reported",
            func.date_trunc("second", locks.c.last_seen_at),
        ]
        # Two shapes rather than json_strip_nulls(), which would parse every object again.
        vehicle = case(
            (
                (assets.c.kind == AssetKind.EBIKE.value) & locks.c.battery_pct.isnot(None),
                func.json_build_object(
                    *common,
                    "current_fuel_percent",
                    charge,
                    "current_range_meters",
                    charge * EBIKE_RANGE_METERS,
                ),
            ),
            else_=func.json_build_object(*common),
        )
        query = (
            select(func.coalesce(func.json_agg(vehicle), literal_column("'[]'::json")).cast(Text))
            .select_from(assets)
            .join(locks, HOLDING_DEVICE)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(kinds))
            .where(locks.c.position.isnot(None))
            .where(~in_use())
        )
        return str(self._c.execute(query).scalar_one())
