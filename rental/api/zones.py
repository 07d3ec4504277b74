"""The city's map: operators import and export zones as GeoJSON; anyone may read it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, request

from rental.api.auth import requires
from rental.api.common import platform
from rental.domain.errors import InvalidInput
from rental.domain.riders import Role
from rental.services import zones

blueprint = Blueprint("zones", __name__, url_prefix="/api/v1")


@blueprint.put("/ops/zones/<city_id>")
@requires(Role.OPERATOR)
def import_zones(city_id: str) -> dict[str, Any]:
    """The body is a GeoJSON FeatureCollection; it replaces every zone of the city."""
    count = zones.import_zones(platform().uow(), city_id, request.get_json(silent=True))
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
    city_id = request.args.get("city_id")
    if not city_id:
        raise InvalidInput("city_id is required", "invalid_query")
    since = _since(request.args.get("since"))
    found = zones.speeding_in(platform().uow(), city_id, since)
    return {
        "speeding": [
            {
                "rental_id": str(row["rental_id"]),
                "asset_code": row["asset_code"],
                "zone": row["zone_name"],
                "recorded_at": row["recorded_at"].isoformat(),
                "speed_kph": round(row["speed_kph"], 1),
                "max_speed_kph": row["max_speed_kph"],
                "position": {"lon": row["lon"], "lat": row["lat"]},
            }
            for row in found
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
