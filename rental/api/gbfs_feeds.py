"""The public GBFS 3.0 feeds of each city: which feeds there are, how long a consumer may
keep each, the use case each is read from, and the render cache of the big one."""

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rental.api import gbfs_json
from rental.api.gbfs_json import Feed
from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.services import open_data
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
        self._feeds: dict[str, Feed] = {}
        self._rendering: set[str] = set()
        self._lock = threading.Lock()
        self._foreground = threading.Lock()

    def get(self, city_id: str, now: datetime, render: Callable[[datetime], Feed]) -> Feed:
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

    def _refresh(self, city_id: str, now: datetime, render: Callable[[datetime], Feed]) -> None:
        try:
            self._store(city_id, render(now))
        except Exception:
            log.exception("rendering vehicle_status of %s failed; serving the last one", city_id)
        finally:
            with self._lock:
                self._rendering.discard(city_id)

    def _store(self, city_id: str, rendered: Feed) -> Feed:
        with self._lock:
            current = self._feeds.get(city_id)
            if current is None or rendered.last_updated >= current.last_updated:
                self._feeds[city_id] = rendered
            return self._feeds[city_id]

    def _counted_down(self, cached: Feed, now: datetime) -> Feed:
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
) -> Feed:
    """One feed of one city, in its GBFS envelope. `renderer_uow` gives vehicle_status's
    render a database session of its own, as it may run after this request is over."""
    if name not in TTL:
        raise NotFound(f"no feed {name}", "feed_not_found")
    city = open_data.city(uow, city_id)
    if name == "vehicle_status":
        return cache.get(
            city_id, now, lambda at: _vehicle_status(renderer_uow(), city_id, at, policy, cache.ttl)
        )
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "gbfs": lambda: gbfs_json.discovery(city_id, base_url, FEEDS),
        "gbfs_versions": lambda: gbfs_json.versions(city_id, base_url),
        "system_information": lambda: gbfs_json.system_information(city, contact_email),
        "vehicle_types": lambda: gbfs_json.vehicle_types(open_data.vehicle_types()),
        "system_pricing_plans": lambda: gbfs_json.pricing_plans(
            open_data.pricing_plans(uow, city_id)
        ),
        "geofencing_zones": lambda: gbfs_json.geofencing_zones(
            open_data.geofencing(uow, city_id), open_data.vehicle_types()
        ),
        "system_regions": lambda: gbfs_json.system_regions(city),
        "system_alerts": lambda: {"alerts": []},
    }
    return gbfs_json.feed(builders[name](), now, TTL[name])


def _vehicle_status(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy, ttl: int
) -> Feed:
    vehicles = open_data.vehicles_json(uow, city_id, now, policy)
    return gbfs_json.feed_of_json(gbfs_json.vehicle_status(vehicles), now, ttl)


def manifest(uow: UnitOfWork, base_url: str, now: datetime) -> Feed:
    """Every city served here, for consumers that find systems through one file."""
    city_ids = open_data.city_ids(uow)
    return gbfs_json.feed(gbfs_json.manifest(city_ids, base_url), now, TTL["gbfs"])
