"""A big public feed rendered once per ttl for the whole deployment.

A city's GBFS vehicle_status is megabytes of JSON that changes every few seconds. Rendered
by each API process for itself, consumers behind a load balancer were served renders of
different moments: `last_updated` went backwards and a rented bike came back. Here every
worker and host serves the one render stored in the database:

- a render younger than its ttl is served as it is (the API counts its ttl down);
- an older one is rendered again by one worker while the others wait for it (a turn per
  city and feed, taken in the database), and then everyone serves the new one;
- a render replaces the stored one only if it is newer, so what is served only moves
  forward: a vehicle rented after a render may stay listed until the next render (at most
  a ttl later), and once a render left it out no later answer lists it again.

Times are the API's clock: hosts are expected to keep theirs in step (NTP).
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeGuard

from rental.services.read_models import StoredFeed
from rental.services.unit_of_work import UnitOfWork

# Renders the feed as of the given time, as it is to be stored, in the transaction that
# holds the turn (which it may write in: it is committed with the render). No second
# connection: every waiter holds one, and a pool they filled would never give one back.
Render = Callable[[UnitOfWork, datetime], bytes]


def shared_feed(
    uow: UnitOfWork,
    city_id: str,
    name: str,
    ttl: timedelta,
    clock: Callable[[], datetime],
    render: Render,
    holding: str | None = None,
) -> StoredFeed:
    """The render of a city's feed to serve now: less than `ttl` old, and never older than
    one served before from this database. Its body is None when it is the render whose
    etag is `holding`. `render` runs at most once; its errors pass through (nothing is
    stored then, and the next request tries again)."""
    with uow:
        stored = uow.shared_feeds.latest(city_id, name, holding)
    if is_fresh(stored, clock(), ttl):
        return stored
    return _render_in_turn(uow, city_id, name, ttl, clock, render, holding)


def _render_in_turn(
    uow: UnitOfWork,
    city_id: str,
    name: str,
    ttl: timedelta,
    clock: Callable[[], datetime],
    render: Render,
    holding: str | None,
) -> StoredFeed:
    with uow:
        uow.shared_feeds.take_render_turn(city_id, name)
        now = clock()  # after the wait: the render is as of this moment or later
        stored = uow.shared_feeds.latest(city_id, name, holding)
        if is_fresh(stored, now, ttl):
            return stored  # rendered by another worker while this one waited its turn
        rendered = StoredFeed(city_id, name, now, etag(city_id, name, now), render(uow, now))
        if uow.shared_feeds.store(rendered):
            uow.commit()
            return rendered
        # Kept out by a newer render, from a writer that did not wait for its turn.
        newer = uow.shared_feeds.latest(city_id, name, holding)
        assert newer is not None, "a render newer than ours is stored"
        return newer


def is_fresh(stored: StoredFeed | None, now: datetime, ttl: timedelta) -> TypeGuard[StoredFeed]:
    """Servable: rendered less than `ttl` before `now`."""
    return stored is not None and now - stored.last_updated < ttl


def etag(city_id: str, name: str, last_updated: datetime) -> str:
    """One per render: stored renders of a feed differ in their times."""
    named = f"{city_id}/{name}/{last_updated.isoformat()}"
    return hashlib.sha256(named.encode()).hexdigest()[:32]
