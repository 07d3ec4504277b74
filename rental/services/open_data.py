"""What the public GBFS feeds of a city say, as typed values: the city, the kinds of vehicle
published, their current pricing plans, the zones with what each allows a ride, and where
riders can take a vehicle. The HTTP API renders them as GBFS 3.0 (`rental/api/gbfs_json.py`).
"""

from dataclasses import dataclass
from datetime import datetime

from rental.domain.errors import NotFound
from rental.domain.fleet import VEHICLE_KINDS, AssetKind, ServicePolicy
from rental.domain.gbfs import ZONE_RULES, RideRules, outside_zones
from rental.domain.pricing import PricingPlan
from rental.domain.zones import Zone, ZoneKind
from rental.services.read_models import City, RenderedVehicles
from rental.services.unit_of_work import UnitOfWork

KINDS = [kind.value for kind in VEHICLE_KINDS]
# Restrictive zones first: where zones overlap, GBFS applies the first one listed.
ZONE_ORDER = [
    ZoneKind.NO_RIDE,
    ZoneKind.NO_PARKING,
    ZoneKind.SLOW,
    ZoneKind.PARKING,
    ZoneKind.SERVICE_AREA,
]


@dataclass(frozen=True)
class RuledZone:
    zone: Zone
    rules: RideRules


@dataclass(frozen=True)
class Geofencing:
    zones: list[RuledZone]  # in ZONE_ORDER: the first listed applies where zones overlap
    outside: RideRules  # what holds outside every zone


def city(uow: UnitOfWork, city_id: str) -> City:
    with uow:
        found = uow.open_data.city(city_id)
    if found is None:
        raise NotFound(f"no city {city_id}", "city_not_found")
    return found


def city_ids(uow: UnitOfWork) -> list[str]:
    """Every city served here (a retired one is not)."""
    with uow:
        return uow.open_data.city_ids()


def vehicle_types() -> list[AssetKind]:
    """Only vehicles are published: items in cabinets are not vehicles."""
    return list(VEHICLE_KINDS)


def pricing_plans(uow: UnitOfWork, city_id: str) -> list[PricingPlan]:
    """The city's current pricing plans of vehicles."""
    with uow:
        return [plan for plan in uow.pricing_plans.current(city_id) if plan.kind in KINDS]


def geofencing(uow: UnitOfWork, city_id: str) -> Geofencing:
    with uow:
        zones = uow.zones.all_in(city_id)
    ordered = sorted(zones, key=lambda zone: ZONE_ORDER.index(zone.kind))
    return Geofencing(
        [RuledZone(zone, ZONE_RULES[zone.kind]) for zone in ordered],
        outside_zones(zone.kind for zone in zones),
    )


def vehicles_json(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> RenderedVehicles:
    """GBFS `vehicles` of the city as a JSON array, rendered where the rows are: a big
    city's is megabytes (see `OpenDataRepository.vehicles_json`). In the transaction `uow`
    has open on the primary, whose owner commits it (a render keeps each vehicle's part
    for the next), then calls `forget_rendered`."""
    return uow.open_data.vehicles_json(city_id, KINDS, now, policy)


def forget_rendered(uow: UnitOfWork, city_id: str, rendered: RenderedVehicles) -> None:
    """Once the render is committed: the changes it rendered are not rendered again."""
    if not rendered.changes:
        return
    with uow:
        uow.open_data.forget_changes(city_id, rendered.changes)
        uow.commit()


def render_vehicles_json(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> str:
    """`vehicles_json` in a transaction of its own, committed."""
    with uow:
        rendered = vehicles_json(uow, city_id, now, policy)
        uow.commit()
    forget_rendered(uow, city_id, rendered)
    return rendered.json
