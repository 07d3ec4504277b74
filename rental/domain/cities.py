"""A city the platform runs in: who it is to riders and feeds (id, name, locale), its clock
(an IANA time zone) and its money (an ISO 4217 currency), and whether it still runs.

A city is launched with these and configured later, except its currency: prices, wallets and
the books of a city are kept in it, so it never changes. A retired city takes no new rides,
holds or vehicles and leaves GBFS; its history stays readable to its regulator (MDS).
"""

import math
import re
import zoneinfo
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from babel import Locale, UnknownLocaleError

from rental.domain.errors import Conflict, InvalidInput
from rental.domain.money import checked_currency

# Lower-case letters, digits and inner hyphens: the id appears in URLs (GBFS, MDS, the API)
# and as GBFS `system_id`, so it stays the same in every one of them.
_CITY_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
# An IETF BCP 47 tag as GBFS `languages` requires: a language, then subtags ("zh-CN").
_LANGUAGE_TAG = re.compile(r"[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8}){0,3}")
MAX_NAME = 100


@dataclass(frozen=True)
class City:
    id: str
    name: str
    time_zone: str  # IANA, "Europe/Berlin"
    currency: str  # ISO 4217, "EUR"
    locale: str  # IETF BCP 47, "de-DE": the language of the city's feeds and texts
    center_lon: float  # WGS 84: where maps of the city open
    center_lat: float
    launched_at: datetime | None = None
    retired_at: datetime | None = None
    # The payment gateways offered in the city, by name, and the one used unless the rider
    # picks another (rental.domain.payment_choice); none: the platform's default.
    payment_gateways: tuple[str, ...] = ()
    default_gateway: str | None = None

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def configured(
        self,
        *,
        name: str | None = None,
        time_zone: str | None = None,
        locale: str | None = None,
        center: tuple[float, float] | None = None,
    ) -> "City":
        """This city with the settings given changed (None: unchanged)."""
        lon, lat = center if center is not None else (self.center_lon, self.center_lat)
        return replace(
            self,
            name=name if name is not None else self.name,
            time_zone=time_zone if time_zone is not None else self.time_zone,
            locale=locale if locale is not None else self.locale,
            center_lon=lon,
            center_lat=lat,
        )


def launched_city(
    city_id: str,
    name: str,
    time_zone: str,
    currency: str,
    locale: str,
    center: tuple[float, float],
) -> City:
    """A new city, every setting checked. Raises InvalidInput naming the first wrong one."""
    return City(
        id=checked_city_id(city_id),
        name=checked_city_name(name),
        time_zone=checked_time_zone(time_zone),
        currency=checked_currency(currency),
        locale=checked_locale(locale),
        center_lon=checked_center(center)[0],
        center_lat=center[1],
    )


def checked_center(center: tuple[float, float]) -> tuple[float, float]:
    """(lon, lat) in WGS 84 degrees, finite and in range."""
    lon, lat = center
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("a city's center is a WGS 84 lon, lat", "invalid_center", "center")
    return center


def checked_city_id(city_id: str) -> str:
    """2 to 40 lower-case letters, digits and inner hyphens ("berlin", "sh-pudong")."""
    if len(city_id) < 2 or not _CITY_ID.fullmatch(city_id):
        raise InvalidInput(
            "a city id is 2 to 40 lower-case letters, digits and inner hyphens, such as berlin",
            "invalid_city_id",
            "id",
        )
    return city_id


def checked_city_name(name: str) -> str:
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_NAME:
        raise InvalidInput(f"a city's name has 1 to {MAX_NAME} characters", "invalid_name", "name")
    return stripped


def checked_time_zone(time_zone: str) -> str:
    """An IANA time zone of the tz database ("Europe/Berlin"); not "localtime", whose meaning
    depends on the server."""
    if time_zone not in _time_zones():
        raise InvalidInput(
            f"{time_zone!r} is not an IANA time zone such as Europe/Berlin",
            "invalid_time_zone",
            "time_zone",
        )
    return time_zone


def checked_locale(tag: str) -> str:
    """A BCP 47 language tag that CLDR (through Babel) knows: "de-DE", "zh-CN", "en"."""
    try:
        if not _LANGUAGE_TAG.fullmatch(tag):
            raise ValueError(tag)
        Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        raise InvalidInput(
            f"{tag!r} is not a known language tag such as de-DE or zh-CN",
            "invalid_locale",
            "locale",
        ) from None
    return tag


def ensure_running(city: City) -> None:
    """Raises Conflict `city_retired` for a retired city: it takes no new rides, holds or
    vehicles."""
    if city.is_retired:
        raise Conflict(f"the city {city.id} is retired", "city_retired")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})
