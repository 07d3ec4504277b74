"""The public GBFS 3.0 feeds of each city, assembled from the fleet, prices and zones."""

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rental.domain import gbfs
from rental.domain.errors import NotFound
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy
from rental.domain.zones import Zone, ZoneKind, zone_feature
from rental.services.read_models import City
from rental.services.unit_of_work import UnitOfWork

# Seconds a consumer may keep each feed. Vehicle positions must never be more than five
# minutes stale; the rest changes when an operator edits it. vehicle_status is rendered at
# most once per its ttl per process (see VehicleStatusCache).
TTL = {
    "gbfs": 300,
    "gbfs_versions": 3600,
    "system_information": 3600,
    "vehicle_types": 3600,
    "vehicle_status": 10,  # the default; VEHICLE_STATUS_TTL_SECONDS sets it
    "system_pricing_plans": 300,
    "geofencing_zones": 300,
    "system_regions": 3600,
    "system_alerts": 60,
}
FEEDS = tuple(TTL)
# GBFS: vehicle positions are never more than five minutes stale.
MAX_STALE = timedelta(minutes=5)
RENDER_THREAD = "vehicle-status-render-"
log = logging.getLogger(__name__)
KINDS = [kind.value for kind in VEHICLE_KINDS]
# Restrictive zones first: where zones overlap, GBFS applies the first one listed.
ZONE_ORDER = [
    ZoneKind.NO_RIDE,
    ZoneKind.NO_PARKING,
    ZoneKind.SLOW,
    ZoneKind.PARKING,
    ZoneKind.SERVICE_AREA,
]


class VehicleStatusCache:
    """A big city's vehicle_status is megabytes of JSON: render it once per ttl, however
    many consumers poll. Its `last_updated` is when it was rendered, and its ttl what is
    left of that window, so both stay honest.

    Once the ttl has passed, the next request starts a new render in the background and
    is answered with the previous one (ttl 0), so no consumer waits for a render but the
    very first, or one after the feed went `max_stale` without a render. A ttl of 0
    renders on every request."""

    def __init__(self, ttl_seconds: int = 10, max_stale: timedelta = MAX_STALE) -> None:
        self.ttl = ttl_seconds
        self._max_stale = max_stale
        self._feeds: dict[str, gbfs.Feed] = {}
        self._rendering: set[str] = set()
        self._lock = threading.Lock()
        self._foreground = threading.Lock()

    def get(
        self, city_id: str, now: datetime, render: Callable[[datetime], gbfs.Feed]
    ) -> gbfs.Feed:
        ttl = timedelta(seconds=self.ttl)
        with self._lock:
            cached = self._feeds.get(city_id)
            servable = (
                cached is not None and self.ttl > 0 and now - cached.last_updated < self._max_stale
            )
            due = cached is None or now - cached.last_updated >= ttl
            refresh = servable and due and city_id not in self._rendering
            if refresh:
                self._rendering.add(city_id)
        if refresh:
            name = f"{RENDER_THREAD}{city_id}"
            threading.Thread(
                target=self._refresh, args=(city_id, now, render), name=name, daemon=True
            ).start()
        if servable:
            assert cached is not None
            return self._counted_down(cached, now)
        # Nothing fit to serve: render now, one at a time, so that a crowd renders once.
        with self._foreground:
            with self._lock:
                cached = self._feeds.get(city_id)
            if cached is None or now - cached.last_updated >= ttl:
                cached = self._store(city_id, render(now))
        return self._counted_down(cached, now)

    def _refresh(
        self, city_id: str, now: datetime, render: Callable[[datetime], gbfs.Feed]
    ) -> None:
        try:
            self._store(city_id, render(now))
        except Exception:
            log.exception("rendering vehicle_status of %s failed; serving the last one", city_id)
        finally:
            with self._lock:
                self._rendering.discard(city_id)

    def _store(self, city_id: str, rendered: gbfs.Feed) -> gbfs.Feed:
        with self._lock:
            current = self._feeds.get(city_id)
            if current is None or rendered.last_updated >= current.last_updated:
                self._feeds[city_id] = rendered
            return self._feeds[city_id]

    def _counted_down(self, cached: gbfs.Feed, now: datetime) -> gbfs.Feed:
        left = self.ttl - int((now - cached.last_updated).total_seconds())
        return replace(cached, ttl=max(0, left))


def feed(
    uow: UnitOfWork,
    city_id: str,
    name: str,
    base_url: str,
    now: datetime,
    policy: ServicePolicy,
    contact_email: str,
    cache: VehicleStatusCache,
    renderer_uow: Callable[[], UnitOfWork],
) -> gbfs.Feed:
    """One feed of one city, in its GBFS envelope. `renderer_uow` gives vehicle_status's
    render a database session of its own, as it may run after this request is over."""
    if name not in TTL:
        raise NotFound(f"no feed {name}", "feed_not_found")
    with uow:
        city = uow.open_data.city(city_id)
        if city is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
    if name == "vehicle_status":
        return cache.get(
            city_id, now, lambda at: _vehicle_status(renderer_uow(), city_id, at, policy, cache.ttl)
        )
    with uow:
        builders: dict[str, Callable[[], dict[str, Any]]] = {
            "gbfs": lambda: _discovery(city_id, base_url),
            "gbfs_versions": lambda: {
                "versions": [{"version": gbfs.VERSION, "url": _url(base_url, city_id, "gbfs")}]
            },
            "system_information": lambda: _system_information(city, contact_email),
            "vehicle_types": lambda: {"vehicle_types": [gbfs.vehicle_type(k) for k in KINDS]},
            "system_pricing_plans": lambda: {
                "plans": [
                    gbfs.pricing_plan(plan)
                    for plan in uow.pricing_plans.current(city_id)
                    if plan.kind in KINDS
                ]
            },
            "geofencing_zones": lambda: _geofencing(uow.zones.all_in(city_id)),
            "system_regions": lambda: {
                "regions": [{"region_id": city_id, "name": gbfs.text(city.name)}]
            },
            "system_alerts": lambda: {"alerts": []},
        }
        data = builders[name]()
    return gbfs.feed(data, now, TTL[name])


def _vehicle_status(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy, ttl: int
) -> gbfs.Feed:
    with uow:
        vehicles = uow.open_data.vehicles_json(city_id, KINDS, now, policy)
    return gbfs.feed_of_json(f'{{"vehicles":{vehicles}}}', now, ttl)


def manifest(uow: UnitOfWork, base_url: str, now: datetime) -> gbfs.Feed:
    """Every city served here, for consumers that find systems through one file."""
    with uow:
        city_ids = uow.open_data.city_ids()
    datasets = [
        {
            "system_id": _system_id(city_id),
            "versions": [{"version": gbfs.VERSION, "url": _url(base_url, city_id, "gbfs")}],
        }
        for city_id in city_ids
    ]
    return gbfs.feed({"datasets": datasets}, now, TTL["gbfs"])


def _discovery(city_id: str, base_url: str) -> dict[str, Any]:
    return {"feeds": [{"name": name, "url": _url(base_url, city_id, name)} for name in FEEDS]}


def _system_information(city: City, contact_email: str) -> dict[str, Any]:
    return {
        "system_id": _system_id(city.id),
        "languages": [gbfs.LANGUAGE],
        "name": gbfs.text(city.name),
        "opening_hours": "24/7",
        "feed_contact_email": contact_email,
        "timezone": city.timezone,
    }


def _geofencing(zones: list[Zone]) -> dict[str, Any]:
    ordered = sorted(zones, key=lambda zone: ZONE_ORDER.index(zone.kind))
    # A city without a service area has no limit: outside its zones, anything goes.
    has_area = any(zone.kind is ZoneKind.SERVICE_AREA for zone in zones)
    outside = gbfs.OUTSIDE_SERVICE_AREA if has_area else gbfs.ANYWHERE
    return {
        "geofencing_zones": {
            "type": "FeatureCollection",
            "features": [gbfs.geofencing_feature(zone_feature(zone), KINDS) for zone in ordered],
        },
        "global_rules": [{"vehicle_type_ids": KINDS, **outside}],
    }


def _system_id(city_id: str) -> str:
    return f"dockless-{city_id}"


def _url(base_url: str, city_id: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/gbfs/v3/{city_id}/{name}.json"
