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


@dataclass(frozen=True)
class LaunchCity:
    city_id: str
    name: str
    time_zone: str  # IANA
    currency: str  # ISO 4217
    locale: str  # BCP 47
    center: tuple[float, float]  # WGS 84 lon, lat


@dataclass(frozen=True)
class ConfigureCity:
    """The settings to change; None leaves one as it is. A city's currency never changes."""

    city_id: str
    name: str | None = None
    time_zone: str | None = None
    locale: str | None = None
    center: tuple[float, float] | None = None


@dataclass(frozen=True)
class OfferGateways:
    """The payment gateways a city offers, by name, and its default (None: the first)."""

    city_id: str
    gateways: tuple[str, ...]
    default: str | None = None
