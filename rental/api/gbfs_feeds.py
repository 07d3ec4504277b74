"""The public GBFS 3.0 feeds of each city: which feeds there are, how long a consumer may
keep each, and the use case each is read from. vehicle_status, megabytes for a big city,
is rendered once per ttl for the whole deployment (`rental.services.shared_feeds`); each
process keeps a copy of the render it last served (`FeedCopies`)."""

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rental.api import gbfs_json
from rental.api.gbfs_json import Feed
from rental.domain.errors import NotFound
from rental.domain.fleet import ServicePolicy
from rental.services import open_data, shared_feeds
from rental.services.read_models import RenderedVehicles, StoredFeed
from rental.services.unit_of_work import UnitOfWork

# Seconds a consumer may keep each feed. Vehicle positions must never be more than five
# minutes stale; the rest changes when an operator edits it.
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
VEHICLE_STATUS = "vehicle_status"
# Stored renders are gzip: a fifth of the size to store, fetch and send, for little CPU.
GZIP_LEVEL = 1


@dataclass(frozen=True)
class VehicleStatusSource:
    """Where vehicle_status comes from: `store` (the primary) renders it from the rows it
    keeps of each vehicle and keeps the shared render, as of `clock()`, at most once per
    `ttl_seconds` (0: on every request, stored nowhere)."""

    store: Callable[[], UnitOfWork]
    clock: Callable[[], datetime]
    ttl_seconds: int
    copies: "FeedCopies"


class FeedCopies:
    """This process's copy of each shared feed's latest render, decompressed once: a
    request for a render held here fetches nothing but its header."""

    def __init__(self) -> None:
        self._copies: dict[tuple[str, str], Feed] = {}
        self._lock = threading.Lock()

    def etag(self, city_id: str, name: str) -> str | None:
        held = self._copies.get((city_id, name))
        return held.etag if held else None

    def served(self, stored: StoredFeed, ttl: int) -> Feed | None:
        """The stored render as a Feed (its ttl not yet counted down), kept if newer than
        the copy held; None when it came without a body and is no longer the one held (a
        newer render replaced it meanwhile): ask again."""
        key = (stored.city_id, stored.name)
        if stored.body is None:
            held = self._copies.get(key)
            return held if held is not None and held.etag == stored.etag else None
        text = gzip.decompress(stored.body).decode()
        fetched = Feed(text, stored.last_updated, ttl, stored.etag, stored.body)
        with self._lock:
            held = self._copies.get(key)
            if held is None or held.last_updated < fetched.last_updated:
                self._copies[key] = fetched
        return fetched


def feed(
    uow: UnitOfWork,
    city_id: str,
    name: str,
    base_url: str,
    now: datetime,
    policy: ServicePolicy,
    contact_email: str,
    vehicle_status_source: VehicleStatusSource,
) -> Feed:
    """One feed of one city, in its GBFS envelope; `uow` reads the small feeds."""
    if name not in TTL:
        raise NotFound(f"no feed {name}", "feed_not_found")
    city = open_data.city(uow, city_id)
    if name == VEHICLE_STATUS:
        return vehicle_status(vehicle_status_source, city_id, policy)
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


def vehicle_status(source: VehicleStatusSource, city_id: str, policy: ServicePolicy) -> Feed:
    """The city's vehicle_status as every worker and host serves it now, its ttl what is
    left of the render's: `last_updated` never goes back from one answer to the next."""
    ttl = source.ttl_seconds
    if ttl <= 0:
        now = source.clock()
        vehicles = open_data.render_vehicles_json(source.store(), city_id, now, policy)
        text = _vehicle_status_text(vehicles, now, ttl)
        return Feed(text, now, 0, shared_feeds.etag(city_id, VEHICLE_STATUS, now))

    rendered: dict[datetime, RenderedVehicles] = {}  # by this request, as of when

    def render(uow: UnitOfWork, at: datetime) -> bytes:
        rendered[at] = open_data.vehicles_json(uow, city_id, at, policy)
        text = _vehicle_status_text(rendered[at].json, at, ttl)
        return gzip.compress(text.encode(), compresslevel=GZIP_LEVEL, mtime=0)

    holding = source.copies.etag(city_id, VEHICLE_STATUS)
    served = None
    while served is None:  # twice at most: the second time asks for a body
        stored = shared_feeds.shared_feed(
            source.store(),
            city_id,
            VEHICLE_STATUS,
            timedelta(seconds=ttl),
            source.clock,
            render,
            holding,
        )
        if stored.last_updated in rendered:  # ours, stored and committed
            open_data.forget_rendered(source.store(), city_id, rendered[stored.last_updated])
        served = source.copies.served(stored, ttl)
        holding = None
    age = int((source.clock() - served.last_updated).total_seconds())
    return replace(served, ttl=min(ttl, max(0, ttl - age)))


def _vehicle_status_text(vehicles_json: str, now: datetime, ttl: int) -> str:
    return gbfs_json.envelope(gbfs_json.vehicle_status(vehicles_json), now, ttl)


def manifest(uow: UnitOfWork, base_url: str, now: datetime) -> Feed:
    """Every city served here, for consumers that find systems through one file."""
    city_ids = open_data.city_ids(uow)
    return gbfs_json.feed(gbfs_json.manifest(city_ids, base_url), now, TTL["gbfs"])
