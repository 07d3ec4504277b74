"""A stored plan as operators and drivers read it: each truck's ordered stops, and the
whole night as GeoJSON for the map (hotspots with their surplus or deficit, each truck's
route in its own colour, numbered stops)."""

from collections import defaultdict
from typing import Any

# Distinct on a street map and for the common colour blindnesses (Okabe and Ito).
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def colour(truck: int) -> str:
    return COLOURS[(truck - 1) % len(COLOURS)]


def plan_view(
    plan: dict[str, Any], stops: list[dict[str, Any]], fleet: dict[str, Any] | None
) -> dict[str, Any]:
    by_truck: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for stop in stops:
        by_truck[stop["truck"]].append(_stop_view(stop))
    depot = (fleet["depot_lon"], fleet["depot_lat"]) if fleet else None
    totals = {t["truck"]: t for t in (plan.get("summary") or {}).get("trucks", [])}
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
        "id": str(plan["id"]),
        "city_id": plan["city_id"],
        "version": plan["version"],
        "state": plan["state"],
        "trigger": plan["trigger"],
        "started_at": plan["started_at"].isoformat(),
        "finished_at": plan["finished_at"].isoformat() if plan["finished_at"] else None,
        "error": plan["error"],
        "summary": plan["summary"],
        "trucks": trucks,
        "geojson": _geojson(plan.get("summary") or {}, trucks, depot),
    }


def _stop_view(stop: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": stop["seq"],
        "site": stop["site"],
        "lon": stop["lon"],
        "lat": stop["lat"],
        "bikes": stop["bikes"],
        "action": "pick_up" if stop["bikes"] > 0 else "drop_off",
        "asset_ids": [str(asset) for asset in stop["asset_ids"]],
        "metres_from_previous": stop["metres_from_previous"],
        "done_at": stop["done_at"].isoformat() if stop["done_at"] else None,
    }


def _geojson(
    summary: dict[str, Any], trucks: list[dict[str, Any]], depot: tuple[float, float] | None
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
