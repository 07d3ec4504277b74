"""Unmet demand on PostgreSQL: one upsert per search that found nothing, and the counts
(and the vehicles riders could take) summed per grid cell."""

from datetime import datetime

from sqlalchemy import Connection, Integer, cast, delete, desc, func, select, text, tuple_

from rental.adapters.availability import available_to_riders
from rental.adapters.repositories import HOLDING_DEVICE
from rental.adapters.tables import assets, locks, unmet_searches
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy
from rental.domain.unmet_demand import CELL_DEGREES, CellCount, UnmetSearch, cell_center

# The search has answered the rider already; a count that waits longer on a lock or a
# slow disk is dropped rather than hold a worker.
COUNT_TIMEOUT = "200ms"

# The nearest running city within reach of the cell's center gets the count: one
# statement, and nothing at all when no city is near.
_COUNT = text(
    """
    INSERT INTO unmet_searches AS kept (city_id, hour, cell_x, cell_y, searches)
    SELECT id, :hour, :cell_x, :cell_y, 1
      FROM cities
     WHERE retired_at IS NULL
       AND ST_DWithin(center::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                      :reach_m)
     ORDER BY center <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
     LIMIT 1
    ON CONFLICT (city_id, hour, cell_x, cell_y) DO UPDATE SET searches = kept.searches + 1
    RETURNING city_id
    """
)
VEHICLE_KIND_VALUES = [kind.value for kind in VEHICLE_KINDS]


class UnmetDemand:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def count(self, search: UnmetSearch, reach_m: float) -> str | None:
        self._c.exec_driver_sql(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
        self._c.exec_driver_sql(f"SET LOCAL lock_timeout = '{COUNT_TIMEOUT}'")
        lon, lat = cell_center(search.cell)
        values = {
            "hour": search.hour,
            "cell_x": search.cell[0],
            "cell_y": search.cell[1],
            "lon": lon,
            "lat": lat,
            "reach_m": reach_m,
        }
        city_id: str | None = self._c.execute(_COUNT, values).scalar_one_or_none()
        return city_id

    def cells(self, city_id: str, since: datetime, until: datetime) -> list[CellCount]:
        total = func.sum(unmet_searches.c.searches)
        query = (
            select(unmet_searches.c.cell_x, unmet_searches.c.cell_y, total)
            .where(unmet_searches.c.city_id == city_id)
            .where(unmet_searches.c.hour >= since, unmet_searches.c.hour < until)
            .group_by(unmet_searches.c.cell_x, unmet_searches.c.cell_y)
            .order_by(desc(total), unmet_searches.c.cell_x, unmet_searches.c.cell_y)
        )
        return [CellCount((x, y), int(n)) for x, y, n in self._c.execute(query)]

    def vehicle_cells(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[CellCount]:
        cell_x = cast(func.floor(func.ST_X(locks.c.position) / CELL_DEGREES), Integer)
        cell_y = cast(func.floor(func.ST_Y(locks.c.position) / CELL_DEGREES), Integer)
        query = (
            select(cell_x.label("x"), cell_y.label("y"), func.count().label("n"))
            .select_from(assets)
            .join(locks, HOLDING_DEVICE)
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(locks.c.position.isnot(None))
            .where(available_to_riders(now, now - policy.silence, policy.low_battery_pct))
            .group_by(text("x"), text("y"))
            .order_by(desc(text("n")), text("x"), text("y"))
        )
        return [CellCount((row.x, row.y), row.n) for row in self._c.execute(query)]

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        key = (
            unmet_searches.c.city_id,
            unmet_searches.c.hour,
            unmet_searches.c.cell_x,
            unmet_searches.c.cell_y,
        )
        doomed = select(*key).where(unmet_searches.c.hour < cutoff).limit(batch).subquery()
        result = self._c.execute(delete(unmet_searches).where(tuple_(*key).in_(select(doomed))))
        return result.rowcount
