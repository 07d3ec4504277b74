"""Unmet demand in memory (`rental.services.repositories.demand`): counts per (city, hour,
cell) in the store, the city found by great-circle distance from its center."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy, unavailable_because
from rental.domain.trace import Fix, distance_m
from rental.domain.unmet_demand import CELL_DEGREES, CellCount, UnmetSearch, cell_center
from tests.unit.fakes.store import Repository

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FakeUnmetDemand(Repository):
    """`fails_with`: counting raises it, as a database that does not answer would."""

    fails_with: Exception | None = None

    def count(self, search: UnmetSearch, reach_m: float) -> str | None:
        if self.fails_with is not None:
            raise self.fails_with
        store = self._store
        here = Fix(EPOCH, *cell_center(search.cell))
        near = sorted(
            (distance_m(here, Fix(EPOCH, city.center_lon, city.center_lat)), city.id)
            for city in store.cities.values()
            if not city.is_retired
        )
        if not near or near[0][0] > reach_m:
            return None
        city_id = near[0][1]
        key = (city_id, search.hour, *search.cell)
        store.unmet_searches[key] = store.unmet_searches.get(key, 0) + 1
        return city_id

    def cells(self, city_id: str, since: datetime, until: datetime) -> list[CellCount]:
        sums: Counter[tuple[int, int]] = Counter()
        for (city, hour, x, y), searches in self._store.unmet_searches.items():
            if city == city_id and since <= hour < until:
                sums[x, y] += searches
        return _most_first(sums)

    def vehicle_cells(self, city_id: str, now: datetime, policy: ServicePolicy) -> list[CellCount]:
        store = self._store
        counts: Counter[tuple[int, int]] = Counter()
        for row in store.assets.values():
            device = store.lock_of(row.asset.device_id)
            if row.asset.city_id != city_id or row.asset.kind not in VEHICLE_KINDS:
                continue
            if device is None or device.lock.lon is None or device.lock.lat is None:
                continue
            if unavailable_because(store.condition(row, device, now), now, policy):
                continue
            lon, lat = device.lock.lon, device.lock.lat
            counts[math.floor(lon / CELL_DEGREES), math.floor(lat / CELL_DEGREES)] += 1
        return _most_first(counts)

    def forget_before(self, cutoff: datetime, batch: int) -> int:
        store = self._store
        doomed = [key for key in store.unmet_searches if key[1] < cutoff][:batch]
        for key in doomed:
            del store.unmet_searches[key]
        return len(doomed)


def _most_first(counts: Counter[tuple[int, int]]) -> list[CellCount]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [CellCount(cell, n) for cell, n in ordered]
