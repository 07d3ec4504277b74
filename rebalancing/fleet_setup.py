"""Operators tell the job about their trucks: the depot and the bikes waiting there
(`depot_stock`, 0 unless given), each truck's capacity and shift, the speed they make
through the city at night, when the nightly run starts (local time), how long its
search may take, and the road-routing service to ask for distances, if they run one
(`routing_url`, the base of an OSRM-style table API)."""

from typing import Any
from urllib.parse import urlsplit

from rental.adapters.db import UnitOfWork
from rental.domain.errors import InvalidInput, NotFound
from rental.domain.trace import position_of

LIMITS = {
    "capacity": (1, 200),
    "shift_hours": (0.5, 14),
    "speed_kph": (5, 90),
    "nightly_hour": (0, 23),
    "time_limit_seconds": (1, 3600),
    "depot_stock": (0, 100_000),
}
MAX_TRUCKS = 500


def configure(uow: UnitOfWork, city_id: str, body: dict[str, Any]) -> dict[str, Any]:
    depot = body.get("depot")
    where = position_of(depot.get("lon"), depot.get("lat")) if isinstance(depot, dict) else None
    if where is None:
        raise InvalidInput("depot is {lon, lat} in WGS 84 degrees", "invalid_depot")
    trucks = body.get("trucks")
    if not isinstance(trucks, list) or not 1 <= len(trucks) <= MAX_TRUCKS:
        raise InvalidInput(f"trucks is a list of 1 to {MAX_TRUCKS} trucks", "invalid_trucks")
    checked = [
        {
            "capacity": int(_number(truck, "capacity", f"trucks[{n}].")),
            "shift_hours": _number(truck, "shift_hours", f"trucks[{n}]."),
        }
        for n, truck in enumerate(trucks)
    ]
    settings = {
        "trucks": checked,
        "speed_kph": _number(body, "speed_kph"),
        "nightly_hour": int(_number(body, "nightly_hour")),
        "time_limit_seconds": int(_number(body, "time_limit_seconds")),
        "depot_stock": int(_number({"depot_stock": 0, **body}, "depot_stock")),
        "routing_url": _routing_url(body.get("routing_url")),
    }
    with uow:
        if uow.rebalancing.timezone(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        uow.rebalancing.save_fleet(city_id, where, **settings)
        uow.commit()
    return {"city_id": city_id, "depot": {"lon": where[0], "lat": where[1]}, **settings}


def fleet_of(uow: UnitOfWork, city_id: str) -> dict[str, Any]:
    with uow:
        row = uow.rebalancing.fleet(city_id)
    if row is None:
        raise NotFound(f"no trucks are set up for {city_id}", "fleet_not_configured")
    return {
        "city_id": city_id,
        "depot": {"lon": row["depot_lon"], "lat": row["depot_lat"]},
        "trucks": row["trucks"],
        "speed_kph": row["speed_kph"],
        "nightly_hour": row["nightly_hour"],
        "time_limit_seconds": row["time_limit_seconds"],
        "depot_stock": row["depot_stock"],
        "routing_url": row["routing_url"],
    }


def _number(body: object, name: str, where: str = "") -> float:
    low, high = LIMITS[name]
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"{where}{name} is a number from {low} to {high}", "invalid_fleet")
    return float(value)


def _routing_url(value: object) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value) if isinstance(value, str) and len(value) <= 500 else None
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        return parts.geturl().rstrip("/")
    raise InvalidInput(
        "routing_url is the http(s) base of an OSRM-style table API", "invalid_routing_url"
    )
