"""Operators and drivers read a stored plan: its run, each truck's stops (each named by the
city's nearest named zone, the way a crew finds it), and the depot the trucks start from."""

import uuid
from dataclasses import dataclass

from rental.domain.errors import NotFound
from rental.domain.landmarks import Landmark, nearest_landmark
from rental.domain.rebalancing import PlanStop, Position, RebalancingPlan
from rental.services.cities import check_known
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PlanDetails:
    plan: RebalancingPlan
    stops: list[PlanStop]  # by truck, then in driving order
    depot: Position | None  # None once the city's trucks are no longer set up
    # Each stop's position named by the city's zones; None in a city with no named zone.
    landmarks: dict[Position, Landmark | None]


def plan_details(uow: UnitOfWork, plan_id: uuid.UUID) -> PlanDetails:
    with uow:
        plan = uow.rebalancing.plan(plan_id)
        if plan is None:
            raise NotFound("no such plan", "plan_not_found")
        return _details(uow, plan)


def latest_plan(uow: UnitOfWork, city_id: str) -> PlanDetails:
    """The city's newest plan, whatever its state."""
    with uow:
        check_known(uow, city_id)
        plan = uow.rebalancing.latest_plan(city_id)
        if plan is None:
            raise NotFound(f"no plan for {city_id} yet", "plan_not_found")
        return _details(uow, plan)


def _details(uow: UnitOfWork, plan: RebalancingPlan) -> PlanDetails:
    fleet = uow.rebalancing.fleet(plan.city_id)
    stops = uow.rebalancing.stops(plan.id)
    zones = uow.zones.all_in(plan.city_id) if stops else []
    landmarks = {stop.position: nearest_landmark(stop.position, zones) for stop in stops}
    return PlanDetails(plan, stops, fleet.depot if fleet else None, landmarks)
