"""The spatial indexes on locks hold only vehicles that may be taken (`locked IS NOT
false`, migration 0031): a riding bike's fixes move its lock without touching them. That
is worth it only while every spatial search of locks can still use them: these run the
platform's own searches, catch their SQL, and ask PostgreSQL for its plan with sequential
scans priced out. A search whose conditions did not imply the index's predicate could not
use the index at all, and would read every lock."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from rental.adapters.operations import OperationsReadModel
from rental.adapters.vehicles import VehicleSearch
from rental.domain.fleet import ServicePolicy
from tests.helpers import CITY, make_bike

pytestmark = pytest.mark.usefixtures("clean_database")

NOW = datetime.now(UTC)


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


@pytest.mark.usefixtures("fleet")
def test_the_nearby_search_reads_the_parked_vehicles_geography_index(platform):
    with platform.engine.begin() as connection:
        search = VehicleSearch(connection)
        found = search.nearby(121.47, 31.23, 500, None, 20, NOW, ServicePolicy())
        plan = plan_of(
            connection, lambda: search.nearby(121.47, 31.23, 500, None, 20, NOW, ServicePolicy())
        )
    assert "locks_position_geography" in plan, plan
    assert sorted(v.code for v in found) == ["BK-PARKED-1", "BK-PARKED-2"]  # not the riding one


@pytest.mark.usefixtures("fleet")
def test_the_hotspot_figures_read_the_parked_vehicles_index(platform):
    with platform.engine.begin() as connection:
        figures = OperationsReadModel(connection)
        plan = plan_of(
            connection,
            lambda: figures.hotspots(CITY, "Asia/Shanghai", 7, NOW, ServicePolicy()),
        )
    assert "idx_locks_position" in plan, plan
