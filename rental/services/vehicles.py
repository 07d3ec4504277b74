"""Riders look for the nearest vehicles they can take now."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.adapters.pricing_plans import plan_from_row
from rental.domain.errors import InvalidInput
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.pricing import PricingPlan
from rental.services.unit_of_work import UnitOfWork

MAX_RADIUS_M = 5000
MAX_RESULTS = 100


@dataclass(frozen=True)
class NearbyVehicle:
    code: str
    kind: str
    city_id: str
    lon: float
    lat: float
    distance_m: float
    battery_pct: int | None
    plan: PricingPlan | None


def nearby(
    uow: UnitOfWork, args: dict[str, str], now: datetime, policy: ServicePolicy
) -> list[NearbyVehicle]:
    lon, lat = _number(args, "lon", -180, 180), _number(args, "lat", -90, 90)
    radius = _number(args, "radius_m", 1, MAX_RADIUS_M, default=500)
    limit = int(_number(args, "limit", 1, MAX_RESULTS, default=20))
    kinds = _kinds(args.get("kind"))
    with uow:
        rows = uow.vehicles.nearby(lon, lat, radius, kinds, limit, now, policy)
    return [_vehicle(row) for row in rows]


def _vehicle(row: dict[str, Any]) -> NearbyVehicle:
    plan = plan_from_row(row, "plan__") if row["plan__id"] is not None else None
    return NearbyVehicle(
        row["code"],
        row["kind"],
        row["city_id"],
        row["lon"],
        row["lat"],
        row["distance_m"],
        row["battery_pct"],
        plan,
    )


def _number(
    args: dict[str, str], name: str, low: float, high: float, default: float | None = None
) -> float:
    raw = args.get(name)
    if raw is None and default is not None:
        return default
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidInput(f"{name} must be a number from {low:g} to {high:g}", "invalid_query")
    return value


def _kinds(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    kinds = raw.split(",")
    known = {kind.value for kind in AssetKind}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise InvalidInput(f"kind must be among {sorted(known)}", "invalid_query")
    return kinds
