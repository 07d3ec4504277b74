"""A solved night read back in the operator's terms: each truck's numbered stops with the
bikes to collect or the number to put down, and the night's summary (imbalance before and
after, bikes moved, truck metres and seconds, the forecast's error, the search's times).

The summary is a JSON document: stored as it is and shown to operators as it is.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from rebalancing.city import Night, Site, outcome
from rebalancing.demand import ForecastError
from rebalancing.distances import Point
from rebalancing.problem import Plan, route_cost

Summary = dict[str, Any]


@dataclass(frozen=True)
class PlannedStop:
    truck: int  # numbered from 1
    seq: int  # the stop's place in the truck's route, from 1
    site: str  # the site's name
    position: Point
    bikes: int  # > 0 picked up, < 0 put down
    asset_ids: tuple[str, ...]  # the bikes to pick up (none named for a drop-off)
    metres_from_previous: int


def planned_stops(sites: list[Site], night: Night, plan: Plan) -> list[PlannedStop]:
    stops = []
    for truck, route in enumerate(plan.routes):
        previous = 0
        for seq, node in enumerate(route, start=1):
            stop = night.site_of(node)
            site = sites[stop.site]
            stops.append(
                PlannedStop(
                    truck=truck + 1,
                    seq=seq,
                    site=site.name,
                    position=site.position,
                    bikes=stop.bikes,
                    asset_ids=stop.bike_ids,
                    metres_from_previous=night.problem.costs[previous][node],
                )
            )
            previous = node
    return stops


def summary(
    sites: list[Site],
    night: Night,
    plan: Plan,
    morning: date,
    error: ForecastError,
    search_seconds: float,
    seed: int | None,
) -> Summary:
    result = outcome(sites, night, plan)
    return {
        "morning": morning.isoformat(),
        "sites": [
            {
                "name": site.name,
                "lon": site.position[0],
                "lat": site.position[1],
                "surplus": site.surplus,
            }
            for site in sites
        ],
        "imbalance_before": result.imbalance_before,
        "imbalance_after": result.imbalance_after,
        "bikes_moved": result.bikes_moved,
        "truck_metres": result.truck_metres,
        "trucks_used": sum(1 for route in plan.routes if route),
        "trucks": [
            {
                "truck": truck + 1,
                "metres": route_cost(night.problem.costs, 0, route),
                "seconds": route_cost(night.problem.seconds or night.problem.costs, 0, route),
                "stops": len(route),
            }
            for truck, route in enumerate(plan.routes)
            if route
        ],
        "stops_left_out": len(plan.skipped),
        "forecast_error": error.__dict__,
        "solver": {
            "seconds": round(search_seconds, 1),
            "first_plan_seconds": plan.first_found_seconds,
            "seed": seed,
            "repeatable": plan.repeatable,
        },
    }
