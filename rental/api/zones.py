"""The city's map: operators import and export zones as GeoJSON; anyone may read it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, request

from rental.api.auth import requires
from rental.api.common import platform
from rental.api.parsing import required_query
from rental.domain.errors import InvalidInput
from rental.domain.riders import Role
from rental.domain.zones import zones_from_geojson
from rental.services import zones
from rental.services.commands.city import FindSpeeding, ImportZones

blueprint = Blueprint("zones", __name__, url_prefix="/api/v1")


@blueprint.put("/ops/zones/<city_id>")
@requires(Role.OPERATOR)
def import_zones(city_id: str) -> dict[str, Any]:
    """The body is a GeoJSON FeatureCollection; it replaces every zone of the city."""
    command = ImportZones(city_id, zones_from_geojson(request.get_json(silent=True)))
    count = zones.import_zones(platform().uow(), command)
    return {"city_id": city_id, "zones": count}


@blueprint.get("/ops/zones/<city_id>")
@requires(Role.OPERATOR)
def export_zones(city_id: str) -> dict[str, Any]:
    return zones.zones_of(platform().uow(), city_id)


@blueprint.get("/cities/<city_id>/zones")
def public_zones(city_id: str) -> dict[str, Any]:
    """Riders' apps draw where parking is allowed; the map is public, like GBFS."""
    return zones.zones_of(platform().uow(), city_id)


@blueprint.get("/ops/speeding")
@requires(Role.OPERATOR)
def speeding() -> dict[str, Any]:
    """Fixes faster than a slow zone allows or inside a no-ride zone, newest first
    (`?city_id&since=ISO 8601`)."""
    query = FindSpeeding(required_query("city_id"), _since(request.args.get("since")))
    return {
        "speeding": [
            {
                "rental_id": str(found.rental_id),
                "asset_code": found.asset_code,
                "zone": found.zone_name,
                "recorded_at": found.recorded_at.isoformat(),
                "speed_kph": round(found.speed_kph, 1),
                "max_speed_kph": found.max_speed_kph,
                "position": {"lon": found.lon, "lat": found.lat},
            }
            for found in zones.speeding_in(platform().uow(), query)
        ]
    }


def _since(raw: str | None) -> datetime:
    if raw is None:
        return datetime.now(UTC) - timedelta(days=1)
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("since is an ISO 8601 time", "invalid_query") from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)
