"""Where riders may ride and park: a city's service area and its zones, and the verdict
on where a trip ended.

A city without a service area has no limit on where trips end. Zone shapes are
GeoJSON (lon, lat) polygons; the spatial work itself happens in PostGIS.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import shape

from rental.domain.choices import one_of
from rental.domain.errors import InvalidInput


class ZoneKind(StrEnum):
    SERVICE_AREA = "service_area"  # trips end normally only inside it
    NO_PARKING = "no_parking"  # riding through is fine, ending a trip is not
    PARKING = "parking"  # a hotspot where parking is encouraged (and rebalancing aims)
    SLOW = "slow"  # a maximum speed applies
    NO_RIDE = "no_ride"  # neither riding nor parking


# Zones where a trip may not end (in addition to anywhere outside the service area).
NO_END = frozenset({ZoneKind.NO_PARKING, ZoneKind.NO_RIDE})
MAX_ZONES_PER_IMPORT = 5000
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Zone:
    kind: ZoneKind
    name: str
    geometry: dict[str, Any]  # a GeoJSON Polygon or MultiPolygon
    max_speed_kph: float | None = None


class Parking(StrEnum):
    OK = "ok"
    OUTSIDE_SERVICE_AREA = "outside_service_area"
    NO_PARKING_ZONE = "no_parking_zone"
    UNKNOWN = "unknown"  # no usable position at all
    WRONG_CABINET = "wrong_cabinet"  # an item returned into a cabinet for another kind


@dataclass(frozen=True)
class ParkingVerdict:
    parking: Parking
    charge_fee: bool  # never on a doubtful position
    message: str

    @property
    def needs_retrieval(self) -> bool:
        return self.parking is not Parking.OK


def parking_verdict(
    inside_service_area: bool, kinds_at_position: set[ZoneKind], doubtful: bool
) -> ParkingVerdict:
    """What ending a trip at a position means for the rider."""
    if not inside_service_area:
        parking = Parking.OUTSIDE_SERVICE_AREA
        message = "The bike was parked outside the service area."
    elif kinds_at_position & NO_END:
        parking = Parking.NO_PARKING_ZONE
        message = "The bike was parked in a no-parking zone."
    else:
        return ParkingVerdict(Parking.OK, False, "Parked in an allowed place.")
    if doubtful:
        message += " The position is uncertain, so no fee was charged; staff will check."
        return ParkingVerdict(parking, False, message)
    return ParkingVerdict(parking, True, message + " An out-of-zone fee applies.")


UNKNOWN_POSITION = ParkingVerdict(
    Parking.UNKNOWN, False, "The lock sent no usable position; no fee was charged."
)


def zones_from_geojson(document: object) -> list[Zone]:
    """A FeatureCollection whose features carry `kind`, `name` and, for slow zones,
    `max_speed_kph` in their properties. Raises InvalidInput naming the first fault."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InvalidInput("zones are a GeoJSON FeatureCollection", "invalid_geojson")
    features = document.get("features")
    if not isinstance(features, list):
        raise InvalidInput("features must be a list", "invalid_geojson")
    if len(features) > MAX_ZONES_PER_IMPORT:
        raise InvalidInput(f"at most {MAX_ZONES_PER_IMPORT} zones per city", "too_many_zones")
    return [_zone(feature, number) for number, feature in enumerate(features)]


def _zone(feature: object, number: int) -> Zone:
    where = f"feature {number}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(f"{where}: not a GeoJSON Feature", "invalid_geojson")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"{where}: geometry must be a (Multi)Polygon", "invalid_geojson")
    _check_shape(geometry, where)
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidInput(f"{where}: properties must be an object", "invalid_geojson")
    kind = one_of(ZoneKind, properties.get("kind"), f"{where}: kind", "invalid_zone_kind")
    name = properties.get("name", f"{kind.value} {number}")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput(f"{where}: name is a text of 1 to 100 characters", "invalid_geojson")
    return Zone(kind, name, geometry, _max_speed(properties, kind, where))


def _max_speed(properties: dict[str, Any], kind: ZoneKind, where: str) -> float | None:
    speed = properties.get("max_speed_kph")
    if kind is not ZoneKind.SLOW:
        return None
    if not isinstance(speed, int | float) or isinstance(speed, bool) or not 1 <= speed <= 100:
        raise InvalidInput(
            f"{where}: a slow zone needs max_speed_kph between 1 and 100", "invalid_speed_limit"
        )
    return float(speed)


def _check_shape(geometry: dict[str, Any], where: str) -> None:
    try:
        polygon = shape(geometry)
    except (GEOSException, ValueError, TypeError, IndexError, KeyError, AttributeError):
        raise InvalidInput(f"{where}: malformed polygon coordinates", "invalid_geojson") from None
    if polygon.is_empty or not polygon.is_valid:
        raise InvalidInput(f"{where}: the polygon is empty or crosses itself", "invalid_geometry")
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(f"{where}: coordinates are (lon, lat) in degrees", "invalid_geometry")
