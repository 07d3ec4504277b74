"""Feeds rendered once for the whole deployment, in the `gbfs_feeds` table of the primary.

Whose turn it is to render is a transaction-level advisory lock per city and feed: it is
released when the renderer's transaction ends, however it ends (a crashed worker's
connection closes and takes it along). The table is UNLOGGED, so it is not on replicas:
everything here runs on the primary.
"""

from sqlalchemy import Connection, case, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.repositories import AdvisoryLock
from rental.adapters.tables import gbfs_feeds
from rental.services.read_models import StoredFeed

# A turn that long in coming means the renderer is stuck: the waiter gives up (503) rather
# than hold its connection for ever.
RENDER_TURN_TIMEOUT = "30s"


class SharedFeeds:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def latest(self, city_id: str, name: str, holding: str | None) -> StoredFeed | None:
        unless_held = case((gbfs_feeds.c.etag == holding, None), else_=gbfs_feeds.c.body)
        row = self._c.execute(
            select(gbfs_feeds.c.last_updated, gbfs_feeds.c.etag, unless_held.label("body")).where(
                gbfs_feeds.c.city_id == city_id, gbfs_feeds.c.feed == name
            )
        ).first()
        if row is None:
            return None
        return StoredFeed(city_id, name, row.last_updated, row.etag, row.body)

    def take_render_turn(self, city_id: str, name: str) -> None:
        self._c.execute(text(f"SET LOCAL lock_timeout = '{RENDER_TURN_TIMEOUT}'"))
        self._c.execute(
            select(
                func.pg_advisory_xact_lock(
                    int(AdvisoryLock.FEED_RENDERS), func.hashtext(f"{city_id}/{name}")
                )
            )
        )

    def store(self, feed: StoredFeed) -> bool:
        assert feed.body is not None, "a render to store has a body"
        values = {
            "city_id": feed.city_id,
            "feed": feed.name,
            "last_updated": feed.last_updated,
            "etag": feed.etag,
            "body": feed.body,
        }
        statement = insert(gbfs_feeds).values(**values)
        newer = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=[gbfs_feeds.c.city_id, gbfs_feeds.c.feed],
            set_={"last_updated": newer.last_updated, "etag": newer.etag, "body": newer.body},
            where=gbfs_feeds.c.last_updated < newer.last_updated,
        )
        return self._c.execute(upsert.returning(literal_column("1"))).first() is not None
