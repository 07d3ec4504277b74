"""The use cases' open data as GBFS 3.0 JSON, in the spec's words: each feed's `data` from
the typed values `rental/services/open_data.py` returns, and the envelope around it."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.domain.fleet import AssetKind
from rental.domain.gbfs import EBIKE_RANGE_METERS, RideRules
from rental.domain.money import major_units
from rental.domain.pricing import PricingPlan, describe
from rental.services.open_data import Geofencing, RuledZone
from rental.services.read_models import City

VERSION = "3.0"
# The language of the texts the platform writes (vehicle names, fare descriptions); the
# names an operator gives (the city's) are in the city's own locale.
LANGUAGE = "en"


@dataclass(frozen=True)
class Feed:
    """A feed rendered as JSON text, with what its HTTP caching headers need."""

    text: str
    last_updated: datetime
    ttl: int  # seconds a consumer may keep it from now (max-age)
    etag: str  # names this render: made once per render, not once per request
    gzip: bytes | None = None  # `text` gzip-compressed, when the render was stored so


def feed(data: dict[str, Any], last_updated: datetime, ttl: int) -> Feed:
    return feed_of_json(json.dumps(data, separators=(",", ":")), last_updated, ttl)


def feed_of_json(data_json: str, last_updated: datetime, ttl: int) -> Feed:
    """The envelope around data already rendered as JSON, its etag a digest of the text."""
    text = envelope(data_json, last_updated, ttl)
    return Feed(text, last_updated, ttl, hashlib.sha256(text.encode()).hexdigest()[:32])


def envelope(data_json: str, last_updated: datetime, ttl: int) -> str:
    """The GBFS envelope around data already rendered as JSON (by the database, for size)."""
    stamp = json.dumps(last_updated.isoformat(timespec="seconds"))
    return f'{{"last_updated":{stamp},"ttl":{ttl},"version":"{VERSION}","data":{data_json}}}'


def text(value: str, language: str = LANGUAGE) -> list[dict[str, str]]:
    return [{"text": value, "language": language}]


def system_id(city_id: str) -> str:
    return f"dockless-{city_id}"


def url(base_url: str, city_id: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/gbfs/v3/{city_id}/{name}.json"


def discovery(city_id: str, base_url: str, feeds: Iterable[str]) -> dict[str, Any]:
    return {"feeds": [{"name": name, "url": url(base_url, city_id, name)} for name in feeds]}


def versions(city_id: str, base_url: str) -> dict[str, Any]:
    return {"versions": [{"version": VERSION, "url": url(base_url, city_id, "gbfs")}]}


def manifest(city_ids: Iterable[str], base_url: str) -> dict[str, Any]:
    datasets = [
        {"system_id": system_id(city_id), **versions(city_id, base_url)} for city_id in city_ids
    ]
    return {"datasets": datasets}


def system_information(city: City, contact_email: str) -> dict[str, Any]:
    return {
        "system_id": system_id(city.id),
        "languages": list(dict.fromkeys([city.locale, LANGUAGE])),
        "name": text(city.name, city.locale),
        "opening_hours": "24/7",
        "feed_contact_email": contact_email,
        "timezone": city.timezone,
    }


def system_regions(city: City) -> dict[str, Any]:
    return {"regions": [{"region_id": city.id, "name": text(city.name, city.locale)}]}


def vehicle_types(kinds: Iterable[AssetKind]) -> dict[str, Any]:
    return {"vehicle_types": [vehicle_type(kind) for kind in kinds]}


def vehicle_type(kind: AssetKind) -> dict[str, Any]:
    electric = kind is AssetKind.EBIKE
    described: dict[str, Any] = {
        "vehicle_type_id": kind.value,
        "form_factor": "bicycle",
        "propulsion_type": "electric_assist" if electric else "human",
        "name": text("E-bike" if electric else "Bike"),
        "default_pricing_plan_id": kind.value,
    }
    if electric:
        described["max_range_meters"] = EBIKE_RANGE_METERS
    return described


def vehicle_status(vehicles_json: str) -> str:
    """vehicle_status's data around the vehicles the database rendered as a JSON array."""
    return f'{{"vehicles":{vehicles_json}}}'


def pricing_plans(plans: Iterable[PricingPlan]) -> dict[str, Any]:
    return {"plans": [pricing_plan(plan) for plan in plans]}


def pricing_plan(plan: PricingPlan) -> dict[str, Any]:
    """Our tariff in GBFS terms. The daily cap has no GBFS field: it is in the text."""
    tariff = plan.tariff
    per_minute = {
        "start": tariff.free_seconds // 60,
        "rate": major_units(tariff.rate_per_interval_minor, tariff.currency),
        "interval": tariff.interval_seconds // 60,
    }
    return {
        "plan_id": plan.kind,
        "name": text(f"{plan.kind.replace('_', ' ').capitalize()} fare"),
        "currency": tariff.currency,
        "price": major_units(tariff.unlock_fee_minor, tariff.currency),
        "is_taxable": False,
        "description": text(describe(tariff)),
        "per_min_pricing": [per_minute],
    }


def ride_rules(rules: RideRules) -> dict[str, bool]:
    return {
        "ride_start_allowed": rules.start,
        "ride_end_allowed": rules.end,
        "ride_through_allowed": rules.through,
    }


def geofencing_zones(fencing: Geofencing, kinds: Iterable[AssetKind]) -> dict[str, Any]:
    """The zones in their order (the first listed applies where zones overlap), each with
    its rules for every kind of vehicle, and the rules outside them all."""
    type_ids = [kind.value for kind in kinds]
    return {
        "geofencing_zones": {
            "type": "FeatureCollection",
            "features": [geofencing_feature(ruled, type_ids) for ruled in fencing.zones],
        },
        "global_rules": [{"vehicle_type_ids": type_ids, **ride_rules(fencing.outside)}],
    }


def geofencing_feature(ruled: RuledZone, vehicle_type_ids: list[str]) -> dict[str, Any]:
    zone = ruled.zone
    rule: dict[str, Any] = {"vehicle_type_ids": vehicle_type_ids, **ride_rules(ruled.rules)}
    if zone.max_speed_kph:
        rule["maximum_speed_kph"] = int(zone.max_speed_kph)
    return {
        "type": "Feature",
        "geometry": zone.geometry,
        "properties": {"name": text(zone.name), "rules": [rule]},
    }
