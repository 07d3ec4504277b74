"""The repositories of the open data context, as the use cases need them: What cities and
the public read: GBFS, MDS vehicle history, MDS clients.

Implemented on PostgreSQL in `rental.adapters`, in memory in `tests/unit/fakes/`.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from rental.domain.fleet import ServicePolicy
from rental.domain.mds import VehicleEvent
from rental.services.read_models import (
    City,
    MdsClient,
    RenderedVehicles,
    StoredFeed,
    TelemetryRecord,
    TripRecord,
    VehicleEventRecord,
    VehicleRecord,
    VehicleStatusRecord,
)


class OpenDataRepository(Protocol):
    def city(self, city_id: str) -> City | None:
        """A running city; None for a retired one or none."""
        ...

    def city_ids(self) -> list[str]:
        """The running cities, by id."""
        ...

    def vehicles_json(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> RenderedVehicles:
        """GBFS `vehicles` as a JSON array, rendered by PostgreSQL: a city of 100,000
        vehicles is some 22 MB of JSON, better built where the rows are than as 100,000
        Python dicts. Vehicles in a rental are left out; the public id rotates per trip.
        A write on the primary: what is kept of each vehicle for the next render is
        brought up to date (the unit of work commits it)."""
        ...

    def forget_changes(self, city_id: str, changes: Sequence[tuple[uuid.UUID, int]]) -> None:
        """Forgets the changes a committed render rendered, unless noted again since."""
        ...


class SharedFeeds(Protocol):
    """Feeds rendered once for the whole deployment, one row per city and feed."""

    def latest(self, city_id: str, name: str, holding: str | None) -> StoredFeed | None:
        """The last render stored; its body only when its etag is not `holding` (the
        render the asker has a copy of already)."""
        ...

    def take_render_turn(self, city_id: str, name: str) -> None:
        """Waits while another transaction (any worker, any host) renders this feed; the
        turn is this transaction's until it ends."""
        ...

    def store(self, feed: StoredFeed) -> bool:
        """Keeps `feed` in place of the stored render of its city and name if it is newer
        (a later `last_updated`); False, and nothing changed, if it is not."""
        ...


class VehicleHistory(Protocol):
    def record(
        self,
        kind: VehicleEvent,
        at: datetime,
        *,
        asset_id: uuid.UUID | None = None,
        lock_id: str | None = None,
        rental_id: uuid.UUID | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> None:
        """Append what happened to a vehicle (named by its id or its lock's), where its lock
        last was unless told. Items are not vehicles and get no history; nor does a vehicle
        never located, since an MDS event needs a place."""
        ...

    def vehicles(
        self, city_id: str, after: uuid.UUID | None, limit: int, device_id: uuid.UUID | None
    ) -> list[VehicleRecord]: ...

    def statuses(
        self,
        city_id: str,
        after: uuid.UUID | None,
        limit: int,
        device_id: uuid.UUID | None,
        now: datetime,
    ) -> list[VehicleStatusRecord]:
        """Each vehicle with what is true now, its last logged event and its lock's last
        fix (each None when there is none)."""
        ...

    def events(
        self,
        city_id: str,
        start: datetime,
        end: datetime,
        after: uuid.UUID | None,
        limit: int | None,
    ) -> list[VehicleEventRecord]:
        """Events with start <= at < end, oldest first, after the event `after`."""
        ...

    def trips(self, city_id: str, start: datetime, end: datetime) -> list[TripRecord]:
        """Rides of the city's vehicles that ended in [start, end)."""
        ...

    def telemetry(self, city_id: str, start: datetime, end: datetime) -> list[TelemetryRecord]:
        """Every fix of the city's vehicles in [start, end), with the ride it belongs to."""
        ...

    def trip_counts(
        self, city_id: str, start: datetime, end: datetime, types: Mapping[str, str]
    ) -> dict[str, tuple[int, int]]:
        """Per vehicle type (our kinds mapped by `types`): rides started in [start, end)
        and the distinct riders who took them."""
        ...


class MdsClients(Protocol):
    def add(self, client_id: uuid.UUID, city_id: str, name: str) -> None: ...

    def city_of(self, client_id: uuid.UUID) -> str | None:
        """The city of a client whose access stands; None once revoked."""
        ...

    def revoke(self, client_id: uuid.UUID, at: datetime) -> bool: ...

    def listing(self) -> list[MdsClient]: ...
