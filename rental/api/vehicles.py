"""Nearby vehicles for the rider's map; public, like the GBFS feed that shows the same."""

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, request

from rental.api.common import platform, tariff_view
from rental.api.parsing import query_number
from rental.domain.errors import InvalidInput
from rental.domain.fleet import AssetKind
from rental.services import vehicles
from rental.services.commands.assets import SearchNearby

blueprint = Blueprint("vehicles", __name__, url_prefix="/api/v1/vehicles")


@blueprint.get("/nearby")
def nearby() -> dict[str, Any]:
    """`?lat&lon[&radius_m=500][&kind=bike,ebike][&limit=20]`, nearest first."""
    p = platform()
    search = nearby_search(request.args)
    found = vehicles.nearby(p.reader(), search, p.now(), p.config.service_policy())
    return {
        "vehicles": [
            {
                "code": vehicle.code,
                "kind": vehicle.kind.value,
                "city_id": vehicle.city_id,
                "position": {"lon": vehicle.lon, "lat": vehicle.lat},
                "distance_m": round(vehicle.distance_m, 1),
                "battery_pct": vehicle.battery_pct,
                "price": None
                if vehicle.pricing_plan is None
                else tariff_view(vehicle.pricing_plan.tariff),
            }
            for vehicle in found
        ]
    }


def nearby_search(args: Mapping[str, str]) -> SearchNearby:
    lon, lat = query_number(args, "lon", -180, 180), query_number(args, "lat", -90, 90)
    radius = query_number(args, "radius_m", 1, vehicles.MAX_RADIUS_M, default=500)
    limit = int(query_number(args, "limit", 1, vehicles.MAX_RESULTS, default=20))
    return SearchNearby(lon, lat, radius, _kinds(args.get("kind")), limit)


def _kinds(raw: str | None) -> list[AssetKind] | None:
    if not raw:
        return None
    known = {kind.value for kind in AssetKind}
    kinds = raw.split(",")
    if any(kind not in known for kind in kinds):
        raise InvalidInput(f"kind must be among {sorted(known)}", "invalid_query")
    return [AssetKind(kind) for kind in kinds]
