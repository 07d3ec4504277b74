"""Commands of the city context: its map of zones, and what riders did in them."""

from dataclasses import dataclass
from datetime import datetime

from rental.domain.zones import Zone


@dataclass(frozen=True)
class ImportZones:
    """The city's whole map: it replaces every zone the city had."""

    city_id: str
    zones: list[Zone]  # as rental.domain.zones.zones_from_geojson read them


@dataclass(frozen=True)
class FindSpeeding:
    city_id: str
    since: datetime
