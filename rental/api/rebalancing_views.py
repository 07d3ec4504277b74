"""The rebalancing as operators and drivers read it: a city's trucks, and a stored plan with
each truck's ordered stops and the whole night as GeoJSON for the map (hotspots with their
surplus or deficit, each truck's route in its own colour, numbered stops)."""

from collections import defaultdict
from typing import Any

from rental.domain.rebalancing import PlanStop, Position, TruckFleet
from rental.services.rebalancing_plans import PlanDetails

# Distinct on a street map and for the common colour blindnesses (Okabe and Ito).
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def colour(truck: int) -> str:
    return COLOURS[(truck - 1) % len(COLOURS)]


def fleet_view(fleet: TruckFleet) -> dict[str, Any]:
    return {
        "city_id": fleet.city_id,
        "depot": {"lon": fleet.depot[0], "lat": fleet.depot[1]},
        "trucks": [
            {"capacity": truck.capacity, "shift_hours": truck.shift_hours} for truck in fleet.trucks
        ],
        "speed_kph": fleet.speed_kph,
        "nightly_hour": fleet.nightly_hour,
        "time_limit_seconds": fleet.time_limit_seconds,
        "depot_stock": fleet.depot_stock,
        "routing_url": fleet.routing_url,
    }


def plan_view(details: PlanDetails) -> dict[str, Any]:
    plan = details.plan
    by_truck: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for stop in details.stops:
        by_truck[stop.truck].append(_stop_view(stop))
    totals = {t["truck"]: t for t in (plan.summary or {}).get("trucks", [])}
    trucks = [
        {
            "truck": truck,
            "colour": colour(truck),
            # Back at the depot included: the run's own totals.
            "metres": totals.get(truck, {}).get("metres"),
            "seconds": totals.get(truck, {}).get("seconds"),
            "stops": route,
        }
        for truck, route in sorted(by_truck.items())
    ]
    return {
        "id": str(plan.id),
        "city_id": plan.city_id,
        "version": plan.version,
        "state": plan.state.value,
        "trigger": plan.trigger.value,
        "started_at": plan.started_at.isoformat(),
        "finished_at": plan.finished_at.isoformat() if plan.finished_at else None,
        "error": plan.error,
        "summary": plan.summary,
        "trucks": trucks,
        "geojson": _geojson(plan.summary or {}, trucks, details.depot),
    }


def _stop_view(stop: PlanStop) -> dict[str, Any]:
    return {
        "seq": stop.seq,
        "site": stop.site,
        "lon": stop.position[0],
        "lat": stop.position[1],
        "bikes": stop.bikes,
        "action": "pick_up" if stop.is_pick_up else "drop_off",
        "asset_ids": [str(asset) for asset in stop.asset_ids],
        "metres_from_previous": stop.metres_from_previous,
        "done_at": stop.done_at.isoformat() if stop.done_at else None,
    }


def _geojson(
    summary: dict[str, Any], trucks: list[dict[str, Any]], depot: Position | None
) -> dict[str, Any]:
    features: list[dict[str, Any]] = [
        _point(site["lon"], site["lat"], kind="hotspot", name=site["name"], surplus=site["surplus"])
        for site in summary.get("sites", [])
    ]
    if depot is not None:
        features.append(_point(*depot, kind="depot"))
    for truck in trucks:
        path = [[stop["lon"], stop["lat"]] for stop in truck["stops"]]
        if depot is not None:
            path = [list(depot), *path, list(depot)]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": path},
                "properties": {"kind": "route", "truck": truck["truck"], "colour": truck["colour"]},
            }
        )
        features += [
            _point(
                stop["lon"],
                stop["lat"],
                kind="stop",
                truck=truck["truck"],
                seq=stop["seq"],
                colour=truck["colour"],
                bikes=stop["bikes"],
                site=stop["site"],
            )
            for stop in truck["stops"]
        ]
    return {"type": "FeatureCollection", "features": features}


def _point(lon: float, lat: float, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }
