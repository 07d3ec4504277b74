"""The repositories of the city context, as the use cases need them: Cities and their zones.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from collections.abc import Collection, Set
from datetime import datetime
from typing import Protocol

from rental.domain.cities import City
from rental.domain.zones import Speeding, SpeedZone, Zone, ZoneKind, ZonesAt
from rental.services.read_models import SpeedingRecord


class CityRepository(Protocol):
    def add(self, city: City) -> None:
        """Raises Conflict `city_exists` for an id taken."""
        ...

    def get(self, city_id: str, *, for_update: bool = False) -> City | None:
        """`for_update` holds the city until the transaction ends (a retirement against a
        scan)."""
        ...

    def all(self) -> list[City]:
        """Every city, retired ones too, by id."""
        ...

    def save(self, city: City) -> None:
        """Stores the city's settings and its retirement; never its id or currency."""
        ...

    def open_rides(self, city_id: str) -> int:
        """Rentals unlocking or under way in the city."""
        ...

    def currency_of(self, city_id: str) -> str | None: ...

    def time_zones_of_assets(self, asset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The IANA time zone of each asset's city."""
        ...

    def timezone_of(self, city_id: str) -> str | None:
        """The city's IANA time zone ("Asia/Shanghai"); None for no such city."""
        ...


class ZoneRepository(Protocol):
    def replace(self, city_id: str, new_zones: list[Zone]) -> int:
        """The city's zones become exactly these (an import is the whole map, not a patch)."""
        ...

    def all_in(self, city_id: str) -> list[Zone]:
        """The city's zones, stored (with their ids), by kind and name."""
        ...

    def at_position(self, city_id: str, lon: float, lat: float) -> ZonesAt:
        """The kinds of the zones that cover the point (boundaries count as inside), and
        whether the city has a service area at all."""
        ...

    def speed_zones_at(
        self, city_id: str, positions: list[tuple[float, float]], kinds: Set[ZoneKind]
    ) -> list[list[SpeedZone]]:
        """For each (lon, lat), the city's zones of these kinds that cover it."""
        ...

    def add_speeding(self, rental_id: uuid.UUID, found: list[Speeding]) -> int: ...

    def speeding_in(self, city_id: str, since: datetime) -> list[SpeedingRecord]:
        """Newest first, at most 500."""
        ...
