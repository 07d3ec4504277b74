"""The rebalancing as operators and drivers read it: a city's trucks, and a stored plan with
each truck's ordered stops and the whole night as GeoJSON for the map (hotspots with their
surplus or deficit, each truck's route in its own colour, numbered stops)."""

from collections import defaultdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from rental.api.contract import AnswerModel
from rental.domain.landmarks import CompassPoint, Landmark
from rental.domain.rebalancing import PlanState, PlanStop, Position, RunTrigger, TruckFleet
from rental.services.rebalancing_plans import PlanDetails

# Distinct on a street map and for the common colour blindnesses (Okabe and Ito).
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def colour(truck: int) -> str:
    return COLOURS[(truck - 1) % len(COLOURS)]


class DepotPlace(AnswerModel):
    lon: float = Field(description="WGS 84 degrees")
    lat: float = Field(description="WGS 84 degrees")


class FleetTruck(AnswerModel):
    capacity: int = Field(description="bikes")
    shift_hours: float


class FleetAnswer(AnswerModel):
    """A city's trucks, and when and how long the nightly run searches."""

    city_id: str
    depot: DepotPlace
    trucks: list[FleetTruck]
    speed_kph: float
    nightly_hour: int = Field(description="the city's local hour of the nightly run")
    time_limit_seconds: int
    depot_stock: int = Field(description="bikes waiting at the depot to go out")
    routing_url: str | None = Field(description="an OSRM-style table API, if the city has one")
    unmet_demand_weight: float = Field(
        description="trip starts each morning search that found no vehicle adds to its "
        "hotspot's forecast; 0: off"
    )


def fleet_view(fleet: TruckFleet) -> FleetAnswer:
    return FleetAnswer(
        city_id=fleet.city_id,
        depot=DepotPlace(lon=fleet.depot[0], lat=fleet.depot[1]),
        trucks=[FleetTruck(capacity=t.capacity, shift_hours=t.shift_hours) for t in fleet.trucks],
        speed_kph=fleet.speed_kph,
        nightly_hour=fleet.nightly_hour,
        time_limit_seconds=fleet.time_limit_seconds,
        depot_stock=fleet.depot_stock,
        routing_url=fleet.routing_url,
        unmet_demand_weight=fleet.unmet_demand_weight,
    )


class LandmarkAnswer(AnswerModel):
    """Where a stop is, by the city's nearest named zone: in or at it (`bearing` null), or
    `metres` away from its middle in the compass direction `bearing`."""

    name: str = Field(description="the zone's name")
    metres: int = Field(description="from the zone's middle, rounded to 10 m")
    bearing: CompassPoint | None = Field(description="from the zone to the stop")


class PlanStopAnswer(AnswerModel):
    seq: int = Field(description="its place in the truck's route, from 1")
    site: str = Field(description="the hotspot's name, or the planner's name of a busy cell")
    landmark: LandmarkAnswer | None = Field(
        description="the stop named for a driver; null in a city with no named zone"
    )
    map_url: str = Field(description="opens the stop in the driver's maps app (DRIVER_MAP_LINK)")
    lon: float
    lat: float
    bikes: int = Field(description="> 0 picked up, < 0 put down")
    action: Literal["pick_up", "drop_off"]
    asset_ids: list[UUID] = Field(description="planned pick-ups; once done, the bikes moved")
    metres_from_previous: int
    done_at: datetime | None


class TruckRoute(AnswerModel):
    truck: int = Field(description="numbered from 1")
    colour: str = Field(description="its route's colour on the map")
    metres: int | float | None = Field(description="the whole route, back at the depot")
    seconds: int | float | None
    stops: list[PlanStopAnswer] = Field(description="in driving order")


class PlanAnswer(AnswerModel):
    id: UUID
    city_id: str
    version: int = Field(description="numbered per city")
    state: PlanState
    trigger: RunTrigger
    started_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="why it failed")
    summary: dict[str, Any] | None = Field(
        description="sites, bikes moved, truck metres and seconds, the search's times"
    )
    trucks: list[TruckRoute]
    geojson: dict[str, Any] = Field(
        description="a GeoJSON FeatureCollection: hotspots, the depot, routes and stops"
    )


MAP_LINK_SCHEMES = ("geo:", "https://", "http://")


def is_map_link(template: str) -> bool:
    """A DRIVER_MAP_LINK: a geo: or web address naming no field but {lat} and {lon}."""
    try:
        template.format(lat="0", lon="0")
    except (KeyError, IndexError, ValueError):
        return False
    return template.startswith(MAP_LINK_SCHEMES)


def plan_view(details: PlanDetails, map_link: str) -> PlanAnswer:
    """The plan as operators and drivers read it; `map_link` is the template of a stop's
    map link, with {lat} and {lon} in WGS 84 degrees."""
    plan = details.plan
    by_truck: dict[int, list[PlanStopAnswer]] = defaultdict(list)
    for stop in details.stops:
        landmark = details.landmarks.get(stop.position)
        by_truck[stop.truck].append(_stop(stop, landmark, map_link))
    totals = {t["truck"]: t for t in (plan.summary or {}).get("trucks", [])}
    trucks = [
        TruckRoute(
            truck=truck,
            colour=colour(truck),
            # Back at the depot included: the run's own totals.
            metres=totals.get(truck, {}).get("metres"),
            seconds=totals.get(truck, {}).get("seconds"),
            stops=route,
        )
        for truck, route in sorted(by_truck.items())
    ]
    return PlanAnswer(
        id=plan.id,
        city_id=plan.city_id,
        version=plan.version,
        state=plan.state,
        trigger=plan.trigger,
        started_at=plan.started_at,
        finished_at=plan.finished_at,
        error=plan.error,
        summary=plan.summary,
        trucks=trucks,
        geojson=_geojson(plan.summary or {}, trucks, details.depot),
    )


def _stop(stop: PlanStop, landmark: Landmark | None, map_link: str) -> PlanStopAnswer:
    lon, lat = stop.position
    return PlanStopAnswer(
        seq=stop.seq,
        site=stop.site,
        landmark=(
            LandmarkAnswer(name=landmark.name, metres=landmark.metres, bearing=landmark.bearing)
            if landmark
            else None
        ),
        map_url=map_link.format(lat=f"{lat:.6f}", lon=f"{lon:.6f}"),
        lon=stop.position[0],
        lat=stop.position[1],
        bikes=stop.bikes,
        action="pick_up" if stop.is_pick_up else "drop_off",
        asset_ids=list(stop.asset_ids),
        metres_from_previous=stop.metres_from_previous,
        done_at=stop.done_at,
    )


def _geojson(
    summary: dict[str, Any], trucks: list[TruckRoute], depot: Position | None
) -> dict[str, Any]:
    features: list[dict[str, Any]] = [
        _point(site["lon"], site["lat"], kind="hotspot", name=site["name"], surplus=site["surplus"])
        for site in summary.get("sites", [])
    ]
    if depot is not None:
        features.append(_point(*depot, kind="depot"))
    for truck in trucks:
        path = [[stop.lon, stop.lat] for stop in truck.stops]
        if depot is not None:
            path = [list(depot), *path, list(depot)]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": path},
                "properties": {"kind": "route", "truck": truck.truck, "colour": truck.colour},
            }
        )
        features += [
            _point(
                stop.lon,
                stop.lat,
                kind="stop",
                truck=truck.truck,
                seq=stop.seq,
                colour=truck.colour,
                bikes=stop.bikes,
                site=stop.site,
                landmark=stop.landmark.model_dump(mode="json") if stop.landmark else None,
            )
            for stop in truck.stops
        ]
    return {"type": "FeatureCollection", "features": features}


def _point(lon: float, lat: float, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }
