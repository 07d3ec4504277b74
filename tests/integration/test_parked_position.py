"""Spatial searches read `locks.parked_position` (migration 0031): PostgreSQL keeps it
equal to `position` while the latch is not reported open and NULL while it is, and no
index covers `position`. So a riding bike's fixes change no indexed column: each is a HOT
update, pruned in place, where it used to be a new row version in every index of `locks`.
These tests store telemetry through the platform's own repository and read the
transaction's HOT count. They also catch the SQL of the platform's own spatial searches
and ask PostgreSQL for its plan with sequential scans priced out: a search that did not
use the parked positions' index would read every lock."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from rental.adapters.operations import OperationsReadModel
from rental.adapters.repositories import LockRepository
from rental.adapters.vehicles import VehicleSearch
from rental.domain.fleet import ServicePolicy
from rental.services.repositories.fleet import LatchReport, LockTelemetry
from tests.helpers import CITY, make_bike

pytestmark = pytest.mark.usefixtures("clean_database")

NOW = datetime.now(UTC)
CITY_SIZE = 2000


@contextmanager
def caught_statements(connection: Connection) -> Iterator[list[tuple[str, Any]]]:
    caught: list[tuple[str, Any]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many) -> None:
        caught.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", catch)
    try:
        yield caught
    finally:
        event.remove(connection, "before_cursor_execute", catch)


def plan_of(connection: Connection, search: Callable[[], object]) -> str:
    with caught_statements(connection) as caught:
        search()
    (statement, parameters), *_ = [c for c in caught if "locks" in c[0]]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


def reads_index(plan: str, index: str) -> bool:
    """Whether the plan reads `index`, row by row or as a bitmap (either is the planner's
    choice to make for a handful of rows)."""
    return re.search(rf"(Index Scan using|Bitmap Index Scan on) {index}\b", plan) is not None


@pytest.fixture
def fleet(platform) -> None:
    for number in range(3):
        make_bike(platform, f"PARKED-{number}")
    with platform.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE locks SET position = ST_SetSRID(ST_MakePoint(121.47, 31.23), 4326), "
                "locked = id <> 'PARKED-0'"
            )
        )
        connection.execute(
            text(
                "INSERT INTO zones (id, city_id, kind, name, geometry) VALUES "
                "(gen_random_uuid(), :city, 'parking', 'Square', "
                "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(121.47, 31.23), 4326), 0.01)))"
            ),
            {"city": CITY},
        )
        # The rest of the city, parked kilometres away. With a city's worth of rows and
        # fresh statistics the planner prices each way in for what it reads; with three
        # rows and whatever statistics earlier tests left, walking every asset can look
        # as cheap as the index, and the plan would depend on the order tests ran in.
        connection.execute(
            text(
                "INSERT INTO locks (id, signing_key, online, locked, position, last_seen_at) "
                "SELECT 'AWAY-' || n, '\\x00', true, true, "
                "ST_SetSRID(ST_MakePoint(121.30 + n * 0.0001, 31.10), 4326), now() "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": CITY_SIZE},
        )
        connection.execute(
            text(
                "INSERT INTO assets (id, code, kind, city_id, lock_id) "
                "SELECT gen_random_uuid(), 'BK-AWAY-' || n, 'bike', :city, 'AWAY-' || n "
                "FROM generate_series(1, :n) AS n"
            ),
            {"city": CITY, "n": CITY_SIZE},
        )
        connection.execute(text("ANALYZE locks, assets"))


@pytest.mark.usefixtures("fleet")
def test_the_nearby_search_reads_the_parked_positions_geography_index(platform):
    with platform.engine.begin() as connection:
        search = VehicleSearch(connection)
        found = search.nearby(121.47, 31.23, 500, None, 20, NOW, ServicePolicy())
        plan = plan_of(
            connection, lambda: search.nearby(121.47, 31.23, 500, None, 20, NOW, ServicePolicy())
        )
    assert reads_index(plan, "locks_parked_position_geography"), plan
    assert sorted(v.code for v in found) == ["BK-PARKED-1", "BK-PARKED-2"]  # not the riding one


@pytest.mark.usefixtures("fleet")
def test_the_hotspot_figures_read_the_parked_positions_index(platform):
    with platform.engine.begin() as connection:
        figures = OperationsReadModel(connection)
        plan = plan_of(
            connection,
            lambda: figures.hotspots(CITY, "Asia/Shanghai", 7, NOW, ServicePolicy()),
        )
    assert reads_index(plan, "locks_parked_position"), plan


def fix(lock_id: str, locked: bool, seq: int, lon: float) -> LockTelemetry:
    latch = LatchReport(locked, 1, seq, NOW)
    return LockTelemetry(lock_id, NOW, NOW, latch, 80, (lon, 31.23))


def hot_updates(connection: Connection) -> int:
    return int(
        connection.execute(
            text("SELECT pg_stat_get_xact_tuples_hot_updated(CAST('locks' AS regclass))")
        ).scalar_one()
    )


def parked_position(connection: Connection, lock_id: str) -> tuple[float, float] | None:
    row = connection.execute(
        text("SELECT ST_X(parked_position), ST_Y(parked_position) FROM locks WHERE id = :id"),
        {"id": lock_id},
    ).one()
    return None if row[0] is None else (row[0], row[1])


@pytest.mark.usefixtures("fleet")
def test_a_riding_bikes_fixes_are_hot_updates_and_a_parked_one_is_findable(platform):
    with platform.engine.begin() as connection:
        locks = LockRepository(connection, platform.lock_keys)
        locks.record_telemetry([fix("PARKED-0", False, 10, 121.48)])  # riding already
        before = hot_updates(connection)
        for seq in range(11, 21):
            locks.record_telemetry([fix("PARKED-0", False, seq, 121.48 + seq * 1e-4)])
        assert hot_updates(connection) - before == 10
        assert parked_position(connection, "PARKED-0") is None

        locks.record_telemetry([fix("PARKED-0", True, 21, 121.49)])  # the ride ends there
        assert hot_updates(connection) - before == 10  # a new index entry: not HOT
        assert parked_position(connection, "PARKED-0") == (121.49, 31.23)
        connection.execute(text("UPDATE locks SET locked = NULL WHERE id = 'PARKED-0'"))
        assert parked_position(connection, "PARKED-0") == (121.49, 31.23)  # never reported
