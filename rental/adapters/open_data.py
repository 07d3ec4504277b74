"""What the public feeds read: a city's vehicles with their public state, in one query."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    Text,
    case,
    func,
    literal_column,
    select,
    true,
)

from rental.adapters.availability import damaged_assets, held_assets, in_use, serviceable
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
        vehicles is some 22 MB of JSON, better built where the rows are than as 100,000
        Python dicts. Vehicles in a rental are left out; the public id rotates per trip."""
        return str(self._c.execute(_vehicles_json_query(city_id, kinds, now, policy)).scalar_one())


def _vehicles_json_query(
    city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
) -> Select[Any]:
    """How its time is spent was measured with EXPLAIN ANALYZE (docs/performance.md):
    - each vehicle is one concat() of JSON fragments: json_build_object looks up the type
      of each of its arguments again for every vehicle, and took two thirds of the time;
    - its lock is looked up by primary key (a LATERAL ... LIMIT 1): joining all locks by
      hash read every lock of every city to find this city's;
    - holds and damage are a hash lookup per vehicle, not an index scan each."""
    device = (
        select(
            locks.c.position,
            locks.c.battery_pct,
            locks.c.online,
            locks.c.last_seen_at,
            locks.c.locked,
            locks.c.latch_unknown_since,
        )
        .where(locks.c.id == assets.c.device_id, locks.c.position.isnot(None))
        .limit(1)
        .lateral("device")
    )
    fit = serviceable(
        now - policy.silence,
        policy.low_battery_pct,
        device,
        damaged=assets.c.id.in_(damaged_assets()),
    )
    charge = device.c.battery_pct / 100.0
    vehicle = _json_text(
        '{"vehicle_id":"',
        assets.c.public_id,  # a UUID the database made: nothing in it to escape
        '","lat":',
        _micro_degrees(func.ST_Y(device.c.position, type_=Float)),
        ',"lon":',
        _micro_degrees(func.ST_X(device.c.position, type_=Float)),
        ',"is_reserved":',
        case((assets.c.id.in_(held_assets(now)), _sql("true")), else_=_sql("false")),
        ',"is_disabled":',
        case((fit, _sql("false")), else_=_sql("true")),
        ',"vehicle_type_id":"',
        assets.c.kind,  # one of `kinds`, ours
        '","pricing_plan_id":"',
        assets.c.kind,
        # RFC 3339 with its offset, which JSON's own rendering of a timestamptz is.
        '","last_reported":',
        func.coalesce(
            func.to_json(func.date_trunc("second", device.c.last_seen_at)).cast(Text),
            _sql("null"),
        ),
        case(  # NULL, which concat() leaves out, for all but charged e-bikes
            (
                (assets.c.kind == AssetKind.EBIKE.value) & device.c.battery_pct.isnot(None),
                _json_text(
                    ',"current_fuel_percent":',
                    charge,
                    ',"current_range_meters":',
                    charge * EBIKE_RANGE_METERS,
                ),
            )
        ),
        "}",
    )
    listed = func.string_agg(vehicle, _sql(","), type_=Text)
    return (
        select(func.coalesce(_sql("[") + listed + _sql("]"), _sql("[]")))
        .select_from(assets)
        .join(device, true())
        .where(assets.c.city_id == city_id, assets.c.kind.in_(kinds))
        .where(~in_use())
    )


def _sql(constant: str) -> ColumnElement[str]:
    """A text constant written into the statement (no bind parameter per use)."""
    return literal_column(f"'{constant}'", Text)


def _json_text(*parts: str | ColumnElement[Any]) -> ColumnElement[str]:
    """One text of JSON fragments (given as str) and values: concat() writes each value
    with its type's output function, and leaves NULLs out."""
    written = [_sql(part) if isinstance(part, str) else part for part in parts]
    return func.concat(*written, type_=Text)


def _micro_degrees(degrees: ColumnElement[float]) -> ColumnElement[Any]:
    """Rounded to 6 decimals (0.1 m) in floating point, which PostgreSQL writes in the
    fewest digits that read back the same: no numeric arithmetic per vehicle."""
    return func.round(degrees * 1e6, type_=Float) / 1e6
