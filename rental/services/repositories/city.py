"""The repositories of the city context, as the use cases need them: Cities and their zones.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from datetime import datetime
from typing import Any, Protocol

from rental.domain.trace import SpeedSample
from rental.domain.zones import Zone, ZoneKind


class CityRepository(Protocol):
    def add(
        self, city_id: str, name: str, currency: str, timezone: str, lon: float, lat: float
    ) -> None: ...

    def currency_of(self, city_id: str) -> str | None: ...


class ZoneRepository(Protocol):
    def replace(self, city_id: str, new_zones: list[Zone]) -> int:
        """The city's zones become exactly these (an import is the whole map, not a patch)."""
        ...

    def as_features(self, city_id: str) -> list[dict[str, Any]]: ...

    def at_position(self, city_id: str, lon: float, lat: float) -> tuple[bool, set[ZoneKind]]:
        """Whether the point is inside the service area (true where the city has none), and
        the kinds of the other zones that cover it. Boundaries count as inside."""
        ...

    def record_speeding(self, rental_id: uuid.UUID, city_id: str, fixes: list[SpeedSample]) -> int:
        """Store the fixes that went faster than a slow zone covering them allows, and those
        inside a no-ride zone (a limit of 0)."""
        ...

    def speeding_in(self, city_id: str, since: datetime) -> list[dict[str, Any]]: ...
