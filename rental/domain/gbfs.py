"""GBFS 3.0 (General Bikeshare Feed Specification) feeds from our own data, as plain dicts.

Only vehicles are published; items in cabinets (power banks, umbrellas, basketballs) are
not vehicles and stay out. A vehicle's public `vehicle_id` rotates after every trip, so a
feed cannot be used to follow one bike through a rider's day.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.domain.fleet import AssetKind
from rental.domain.pricing import PricingPlan, describe
from rental.domain.zones import ZoneKind

VERSION = "3.0"
LANGUAGE = "en"
# What an e-bike's battery carries it when full; the feed scales it by the charge.
EBIKE_RANGE_METERS = 60_000

# What each zone kind allows, in GBFS terms: (start, end, through).
ZONE_RULES: dict[ZoneKind, tuple[bool, bool, bool]] = {
    ZoneKind.SERVICE_AREA: (True, True, True),
    ZoneKind.NO_PARKING: (False, False, True),
    ZoneKind.PARKING: (True, True, True),
    ZoneKind.SLOW: (True, True, True),
    ZoneKind.NO_RIDE: (False, False, False),
}
# Outside every zone: where a city has a service area, nothing may start or end there.
OUTSIDE_SERVICE_AREA = {
    "ride_start_allowed": False,
    "ride_end_allowed": False,
    "ride_through_allowed": True,
}
ANYWHERE = {"ride_start_allowed": True, "ride_end_allowed": True, "ride_through_allowed": True}


def text(value: str) -> list[dict[str, str]]:
    return [{"text": value, "language": LANGUAGE}]


@dataclass(frozen=True)
class Feed:
    """A feed rendered as JSON text, with what its HTTP caching headers need."""

    text: str
    last_updated: datetime
    ttl: int
    etag: str  # a digest of `text`, made once per render, not once per request


def feed(data: dict[str, Any], last_updated: datetime, ttl: int) -> Feed:
    return feed_of_json(json.dumps(data, separators=(",", ":")), last_updated, ttl)


def feed_of_json(data_json: str, last_updated: datetime, ttl: int) -> Feed:
    """The envelope around data already rendered as JSON (by the database, for size)."""
    stamp = json.dumps(last_updated.isoformat(timespec="seconds"))
    text = f'{{"last_updated":{stamp},"ttl":{ttl},"version":"{VERSION}","data":{data_json}}}'
    return Feed(text, last_updated, ttl, hashlib.sha256(text.encode()).hexdigest()[:32])


def vehicle_type(kind: str) -> dict[str, Any]:
    electric = kind == AssetKind.EBIKE.value
    described: dict[str, Any] = {
        "vehicle_type_id": kind,
        "form_factor": "bicycle",
        "propulsion_type": "electric_assist" if electric else "human",
        "name": text("E-bike" if electric else "Bike"),
        "default_pricing_plan_id": kind,
    }
    if electric:
        described["max_range_meters"] = EBIKE_RANGE_METERS
    return described


def pricing_plan(plan: PricingPlan) -> dict[str, Any]:
    """Our tariff in GBFS terms. The daily cap has no GBFS field: it is in the text."""
    tariff = plan.tariff
    per_minute = {
        "start": tariff.free_seconds // 60,
        "rate": tariff.rate_per_interval_minor / 100,
        "interval": tariff.interval_seconds // 60,
    }
    return {
        "plan_id": plan.kind,
        "name": text(f"{plan.kind.replace('_', ' ').capitalize()} fare"),
        "currency": tariff.currency,
        "price": tariff.unlock_fee_minor / 100,
        "is_taxable": False,
        "description": text(describe(tariff)),
        "per_min_pricing": [per_minute],
    }


def geofencing_feature(feature: dict[str, Any], vehicle_type_ids: list[str]) -> dict[str, Any]:
    """One of our zones (a GeoJSON Feature from the zone repository) as a GBFS zone."""
    properties = feature["properties"]
    start, end, through = ZONE_RULES[ZoneKind(properties["kind"])]
    rule: dict[str, Any] = {
        "vehicle_type_ids": vehicle_type_ids,
        "ride_start_allowed": start,
        "ride_end_allowed": end,
        "ride_through_allowed": through,
    }
    if properties.get("max_speed_kph"):
        rule["maximum_speed_kph"] = int(properties["max_speed_kph"])
    return {
        "type": "Feature",
        "geometry": feature["geometry"],
        "properties": {"name": text(properties["name"]), "rules": [rule]},
    }
