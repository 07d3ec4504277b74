"""Nearby vehicles for the rider's map; public, like the GBFS feed that shows the same."""

from typing import Any

from flask import Blueprint, request

from rental.api.common import platform, tariff_view
from rental.services import vehicles

blueprint = Blueprint("vehicles", __name__, url_prefix="/api/v1/vehicles")


@blueprint.get("/nearby")
def nearby() -> dict[str, Any]:
    """`?lat&lon[&radius_m=500][&kind=bike,ebike][&limit=20]`, nearest first."""
    p = platform()
    found = vehicles.nearby(p.reader(), request.args.to_dict(), p.now(), p.config.service_policy())
    return {
        "vehicles": [
            {
                "code": vehicle.code,
                "kind": vehicle.kind,
                "city_id": vehicle.city_id,
                "position": {"lon": vehicle.lon, "lat": vehicle.lat},
                "distance_m": round(vehicle.distance_m, 1),
                "battery_pct": vehicle.battery_pct,
                "price": None if vehicle.plan is None else tariff_view(vehicle.plan.tariff),
            }
            for vehicle in found
        ]
    }
