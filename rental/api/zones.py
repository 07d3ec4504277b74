"""The city's map: operators import and export zones as GeoJSON; anyone may read it."""

from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import ConfigDict, Field, ModelWrapValidatorHandler, ValidationError, model_validator

from rental.api.answers import FeatureCollection
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    NOT_FOUND,
    SIGNED_IN,
    Absent,
    AnswerModel,
    CityId,
    CityPath,
    IsoTime,
    QueryModel,
    RequestModel,
    refusal,
    signed_in,
)
from rental.domain.riders import Role
from rental.domain.zones import zones_from_geojson
from rental.services import zones
from rental.services.commands.city import FindSpeeding, ImportZones

ZONES = Tag(name="zones", description="the city's map: where to ride and park")
blueprint = APIBlueprint("zones", __name__, url_prefix="/api/v1", abp_tags=[ZONES])
OPERATOR_ONLY: dict[str, Any] = {"security": BEARER}


class Geometry(RequestModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(description="rings of [lon, lat] positions (RFC 7946)")


class ZoneFeature(RequestModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # GeoJSON's foreign members

    type: Literal["Feature"]
    id: str | int | None = None
    geometry: Geometry
    properties: dict[str, Any] | None = Field(
        None, description="`kind` (a ZoneKind), `name`, and `max_speed_kph` for slow zones"
    )


class ZoneMap(RequestModel):
    """The city's whole map, as a GeoJSON FeatureCollection (RFC 7946, lon/lat)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["FeatureCollection"]
    features: list[ZoneFeature]

    @model_validator(mode="wrap")
    @classmethod
    def _geojson(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or None
            message = f"zones are a GeoJSON FeatureCollection ({where}: {first['msg']})"
            raise refusal("invalid_geojson", message, where) from None

    def command(self, city_id: str) -> ImportZones:
        """The domain reads the zones (kinds, names, valid polygons), naming the first
        feature at fault."""
        return ImportZones(city_id, zones_from_geojson(self.model_dump()))


class Imported(AnswerModel):
    city_id: str
    zones: int = Field(description="how many zones the city has now")


@blueprint.put(
    "/ops/zones/<city_id>",
    **OPERATOR_ONLY,
    responses={200: Imported, **SIGNED_IN, **NOT_FOUND},
)
@signed_in(Role.OPERATOR)
def import_zones(path: CityPath, body: ZoneMap) -> dict[str, Any]:
    """Replace every zone of the city with the FeatureCollection sent."""
    count = zones.import_zones(platform().uow(), body.command(path.city_id))
    return Imported(city_id=path.city_id, zones=count).json()


@blueprint.get(
    "/ops/zones/<city_id>",
    **OPERATOR_ONLY,
    responses={200: FeatureCollection, **SIGNED_IN, **NOT_FOUND},
)
@signed_in(Role.OPERATOR)
def export_zones(path: CityPath) -> dict[str, Any]:
    """The city's zones, as an import reads them back."""
    return FeatureCollection.model_validate(zones.zones_of(platform().uow(), path.city_id)).json()


@blueprint.get("/cities/<city_id>/zones", responses={200: FeatureCollection, **NOT_FOUND})
def public_zones(path: CityPath) -> dict[str, Any]:
    """The city's zones, public like GBFS: riders' apps draw where to ride and park."""
    return FeatureCollection.model_validate(zones.zones_of(platform().uow(), path.city_id)).json()


class SpeedingQuery(QueryModel):
    city_id: CityId
    since: IsoTime | Absent = Field(None, description="ISO 8601; a day ago if absent")

    def command(self, now: datetime) -> FindSpeeding:
        since = self.since or now - timedelta(days=1)
        return FindSpeeding(self.city_id, since if since.tzinfo else since.replace(tzinfo=UTC))


class Position(AnswerModel):
    lon: float
    lat: float


class SpeedingFix(AnswerModel):
    rental_id: UUID
    asset_code: str
    zone: str
    recorded_at: datetime
    speed_kph: float
    max_speed_kph: float = Field(description="0 in a no-ride zone")
    position: Position


class Speeding(AnswerModel):
    speeding: list[SpeedingFix] = Field(description="newest first")


@blueprint.get(
    "/ops/speeding", **OPERATOR_ONLY, responses={200: Speeding, **SIGNED_IN, **NOT_FOUND}
)
@signed_in(Role.OPERATOR)
def speeding(query: SpeedingQuery) -> dict[str, Any]:
    """Fixes faster than a slow zone allows, or inside a no-ride zone, newest first."""
    p = platform()
    found = zones.speeding_in(p.uow(), query.command(p.now()))
    return Speeding(
        speeding=[
            SpeedingFix(
                rental_id=fix.rental_id,
                asset_code=fix.asset_code,
                zone=fix.zone_name,
                recorded_at=fix.recorded_at,
                speed_kph=round(fix.speed_kph, 1),
                max_speed_kph=fix.max_speed_kph,
                position=Position(lon=fix.lon, lat=fix.lat),
            )
            for fix in found
        ]
    ).json()
