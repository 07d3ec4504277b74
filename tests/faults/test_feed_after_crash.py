"""PostgreSQL crashes (killed, no shutdown): the rows kept of each vehicle for GBFS are
UNLOGGED, so recovery empties them; the next render builds the city's vehicles again from
the locks and assets, which the WAL kept."""

from typing import Any

from sqlalchemy import text

from tests.faults.system import FaultSystem


def listed(system: FaultSystem, city_id: str) -> set[tuple[float, float]]:
    answer = system.call("GET", f"/gbfs/v3/{city_id}/vehicle_status.json")
    if answer.status_code != 200:
        return set()
    vehicles: list[dict[str, Any]] = answer.json()["data"]["vehicles"]
    return {(round(v["lon"], 5), round(v["lat"], 5)) for v in vehicles}


def built(system: FaultSystem, city_id: str) -> int:
    with system.platform.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT count(*) FROM vehicle_status_builds WHERE city_id = :city"),
            {"city": city_id},
        )
        return int(rows.scalar_one())


def test_the_feed_after_a_database_crash_lists_every_vehicle_where_it_stands(system, scene):
    world = scene(bikes=3)
    system.eventually(lambda: len(listed(system, world.city.id)) == 3, "the bikes in the feed")
    before = listed(system, world.city.id)
    world.monitor.stop()  # it reads the feed: nothing is to render before the check below
    assert built(system, world.city.id) == 1

    system.services.crash_postgres()
    system.services.start_postgres()

    assert built(system, world.city.id) == 0  # recovery emptied what was kept
    system.eventually(lambda: listed(system, world.city.id) == before, "the feed built again")
