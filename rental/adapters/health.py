"""What readiness and the fleet's gauges read from the database, kept short: a probe that
hangs is worse than one that fails.

- `schema_revisions`: the Alembic revision(s) the database is at, read on a connection
  of its own that gives up after PROBE_TIMEOUT_SECONDS (connecting and querying alike).
- `head_revisions`: the revision(s) this code's migrations end at.
- `lock_presence`: how many locks are online and offline right now.
"""

from datetime import datetime, timedelta
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from rental.adapters.migrations import alembic_config
from rental.adapters.tables import locks

PROBE_TIMEOUT_SECONDS = 2


def probe_engine(database_url: str) -> Engine:
    """One connection per probe (no pool to go stale while the database is away), with a
    connect and a statement timeout."""
    milliseconds = PROBE_TIMEOUT_SECONDS * 1000
    return create_engine(
        database_url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": PROBE_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={milliseconds}",
        },
    )


def schema_revisions(engine: Engine) -> set[str]:
    """Raises SQLAlchemy's errors when the database does not answer in time; an empty set
    for a database never migrated."""
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            return set()
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return {str(row[0]) for row in rows}


@cache
def head_revisions() -> frozenset[str]:
    """Read once per process from the migrations shipped with the code."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def lock_presence(engine: Engine, now: datetime, silence: timedelta) -> dict[str, int]:
    """{"online": n, "offline": m}: online is connected and heard from within `silence`
    (the same rule as riders' availability, `rental.domain.fleet.is_reachable`)."""
    reachable = locks.c.online & (locks.c.last_seen_at >= now - silence)
    query = select(func.count().filter(reachable).label("online"), func.count().label("all"))
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return {"online": int(row.online), "offline": int(row.all) - int(row.online)}
