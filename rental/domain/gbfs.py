"""What GBFS publishes about our fleet and zones that is a fact, not a wire shape: how far
a full e-bike goes, and what each kind of zone allows a ride. The JSON itself is written
at the edge (`rental/api/gbfs_json.py`).

Only vehicles are published; items in cabinets (power banks, umbrellas, basketballs) are
not vehicles and stay out. A vehicle's public `vehicle_id` rotates after every trip, so a
feed cannot be used to follow one bike through a rider's day.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from rental.domain.zones import ZoneKind

# What an e-bike's battery carries it when full; the feed scales it by the charge.
EBIKE_RANGE_METERS = 60_000


def current_range_m(kind: str, battery_pct: int | None) -> int | None:
    """How far an e-bike's charge carries it, in metres (GBFS `current_range_meters`, which
    the feed computes alike); None for other kinds and for an unknown charge."""
    if kind != "ebike" or battery_pct is None:
        return None
    return round(battery_pct / 100 * EBIKE_RANGE_METERS)


@dataclass(frozen=True)
class RideRules:
    """What a place allows a ride: to start there, to end there, to pass through."""

    start: bool
    end: bool
    through: bool


# What each zone kind allows.
ZONE_RULES: dict[ZoneKind, RideRules] = {
    ZoneKind.SERVICE_AREA: RideRules(start=True, end=True, through=True),
    ZoneKind.NO_PARKING: RideRules(start=False, end=False, through=True),
    ZoneKind.PARKING: RideRules(start=True, end=True, through=True),
    ZoneKind.SLOW: RideRules(start=True, end=True, through=True),
    ZoneKind.NO_RIDE: RideRules(start=False, end=False, through=False),
}
# Outside every zone: where a city has a service area, nothing may start or end there.
OUTSIDE_SERVICE_AREA = RideRules(start=False, end=False, through=True)
ANYWHERE = RideRules(start=True, end=True, through=True)


def outside_zones(kinds: Iterable[ZoneKind]) -> RideRules:
    """What holds outside every zone of a city with zones of these kinds. A city without a
    service area has no limit: outside its zones, anything goes."""
    return OUTSIDE_SERVICE_AREA if ZoneKind.SERVICE_AREA in set(kinds) else ANYWHERE
