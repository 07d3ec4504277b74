"""Where riders may ride and park: a city's service area and its zones, and the verdict
on where a trip ended.

A city without a service area has no limit on where trips end. Zone shapes are
GeoJSON (lon, lat) polygons; the spatial work itself happens in PostGIS.
"""

import json
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never
from uuid import UUID

from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from rental.domain.choices import one_of
from rental.domain.errors import InvalidInput
from rental.domain.trace import SpeedSample


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
    id: UUID | None = None  # once stored


@dataclass(frozen=True)
class ZonesAt:
    """The zones that cover one position of a city, and whether the city has drawn a
    service area at all."""

    kinds: frozenset[ZoneKind]  # the service area among them when the position is inside it
    city_has_service_area: bool

    @property
    def inside_service_area(self) -> bool:
        # A city without a service area has no limit on where trips end.
        return not self.city_has_service_area or ZoneKind.SERVICE_AREA in self.kinds


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
    inside_service_area: bool, kinds_at_position: Set[ZoneKind], doubtful: bool
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


# --- speed ------------------------------------------------------------------------------


def speed_limit_kph(kind: ZoneKind, max_speed_kph: float | None) -> float | None:
    """How fast a rider may go inside a zone of this kind: not at all in a no-ride zone,
    its own limit in a slow zone; None where the zone sets no limit."""
    match kind:
        case ZoneKind.NO_RIDE:
            return 0.0
        case ZoneKind.SLOW:
            return max_speed_kph
        case ZoneKind.SERVICE_AREA | ZoneKind.NO_PARKING | ZoneKind.PARKING:
            return None
        case _:
            assert_never(kind)


# The kinds of zone that limit speed.
SPEED_LIMITED = frozenset(kind for kind in ZoneKind if speed_limit_kph(kind, 1.0) is not None)


@dataclass(frozen=True)
class SpeedZone:
    """A zone with a speed limit, as it covers a position."""

    id: UUID
    name: str
    kind: ZoneKind
    max_speed_kph: float | None

    @property
    def limit_kph(self) -> float:
        return speed_limit_kph(self.kind, self.max_speed_kph) or 0.0


@dataclass(frozen=True)
class Speeding:
    """A fix faster than the strictest zone covering it allows."""

    zone_id: UUID
    zone_name: str
    recorded_at: datetime
    lon: float
    lat: float
    speed_kph: float
    max_speed_kph: float


def speeding(samples: list[SpeedSample], zones_at: list[list[SpeedZone]]) -> list[Speeding]:
    """The samples that went faster than a slow zone covering them allows, and those inside
    a no-ride zone (a limit of 0), each once (per moment), against its strictest zone.
    `zones_at[i]` are the speed-limited zones covering `samples[i]`."""
    found: dict[datetime, Speeding] = {}
    for sample, covering in zip(samples, zones_at, strict=True):
        broken = [
            zone
            for zone in covering
            if zone.kind is ZoneKind.NO_RIDE or sample.speed_kph > zone.limit_kph
        ]
        if not broken:
            continue
        strictest = min(broken, key=lambda zone: zone.limit_kph)
        earlier = found.get(sample.recorded_at)
        if earlier is None or strictest.limit_kph < earlier.max_speed_kph:
            found[sample.recorded_at] = Speeding(
                strictest.id,
                strictest.name,
                sample.recorded_at,
                sample.lon,
                sample.lat,
                sample.speed_kph,
                strictest.limit_kph,
            )
    return [found[moment] for moment in sorted(found)]


# --- GeoJSON ----------------------------------------------------------------------------


def zone_feature(zone: Zone) -> dict[str, Any]:
    """A stored zone as the GeoJSON Feature `zones_from_geojson` reads back."""
    properties: dict[str, Any] = {"kind": zone.kind.value, "name": zone.name}
    if zone.max_speed_kph:
        properties["max_speed_kph"] = zone.max_speed_kph
    return {
        "type": "Feature",
        "id": str(zone.id),
        "geometry": zone.geometry,
        "properties": properties,
    }


def zones_to_geojson(zones: list[Zone]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [zone_feature(zone) for zone in zones]}


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
    geometry = _normalised(_checked_shape(geometry, where))
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


def _checked_shape(geometry: dict[str, Any], where: str) -> Polygon | MultiPolygon:
    try:
        polygon = shape(geometry)
    except (GEOSException, ValueError, TypeError, IndexError, KeyError, AttributeError):
        raise InvalidInput(f"{where}: malformed polygon coordinates", "invalid_geojson") from None
    if polygon.is_empty:
        raise InvalidInput(f"{where}: the polygon is empty", "invalid_geometry")
    if not polygon.is_valid:  # e.g. "Self-intersection[121.47 31.23]", "Hole lies outside shell"
        raise InvalidInput(f"{where}: {explain_validity(polygon)}", "invalid_geometry")
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(f"{where}: coordinates are (lon, lat) in degrees", "invalid_geometry")
    assert isinstance(polygon, Polygon | MultiPolygon)
    return polygon


def _normalised(polygon: Polygon | MultiPolygon) -> dict[str, Any]:
    """A MultiPolygon under the right-hand rule (RFC 7946 section 3.1.6, which GBFS
    geofencing_zones requires): outer rings counterclockwise, holes clockwise, holes kept.
    Shapefile and QGIS exports are often wound the other way."""
    parts = polygon.geoms if isinstance(polygon, MultiPolygon) else [polygon]
    oriented = MultiPolygon([orient(part, sign=1.0) for part in parts])
    as_lists: dict[str, Any] = json.loads(json.dumps(mapping(oriented)))  # tuples to arrays
    return as_lists
