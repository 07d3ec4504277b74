"""The rows the primary keeps of each vehicle between GBFS renders (`vehicle_status_rows`):
a render writes again only the vehicles changed since the last, and renders exactly what a
build from nothing would, whatever changed them (lockctl's telemetry batches, lock events,
operators, riders, a vehicle moved to another city, time passing)."""

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from rental.adapters.open_data import OpenDataRepository
from rental.bootstrap import Platform, utc_now
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.services import open_data
from rental.services.lock_reports import TelemetryReported
from rental.services.telemetry import ingest_telemetry
from tests.conftest import new_lock_id
from tests.helpers import make_bike, make_city, make_user, started_rental

CITY = "rowscity"
OTHER = "rowsother"
HERE = (121.47, 31.23)
POLICY = ServicePolicy()


def render(platform: Platform, city: str, now: datetime, policy: ServicePolicy = POLICY) -> Any:
    """The city's vehicles as the feed lists them, in the order of their ids."""
    listed = json.loads(open_data.render_vehicles_json(platform.uow(), city, now, policy))
    return sorted(listed, key=lambda vehicle: vehicle["vehicle_id"])


def built_from_nothing(platform: Platform, city: str, now: datetime) -> Any:
    """What a render that builds every row again lists, in a transaction rolled back: the
    rows kept stay as they were."""
    with platform.engine.connect() as connection:
        connection.execute(
            text("DELETE FROM vehicle_status_builds WHERE city_id = :city"), {"city": city}
        )
        rendered = OpenDataRepository(connection).vehicles_json(
            city, list(open_data.KINDS), now, POLICY
        )
        connection.rollback()
    return sorted(json.loads(rendered.json), key=lambda vehicle: vehicle["vehicle_id"])


def sql(platform: Platform, statement: str, **values: Any) -> None:
    with platform.engine.begin() as connection:
        connection.execute(text(statement), values)


def row_versions(platform: Platform) -> dict[uuid.UUID, str]:
    """Each kept row's xmin: the transaction that last wrote it."""
    with platform.engine.connect() as connection:
        rows = connection.execute(text("SELECT asset_id, xmin::text FROM vehicle_status_rows"))
        return {asset_id: xmin for asset_id, xmin in rows}


def public_id(platform: Platform, asset_id: uuid.UUID) -> str:
    """The id the feed lists the vehicle by (it rotates per trip)."""
    with platform.engine.connect() as connection:
        found = connection.execute(
            text("SELECT public_id::text FROM assets WHERE id = :id"), {"id": asset_id}
        )
        return str(found.scalar_one())


def parked(platform: Platform, city: str = CITY, kind: AssetKind = AssetKind.BIKE) -> Any:
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, city=city)
    if kind is not AssetKind.BIKE:
        sql(platform, "UPDATE assets SET kind = :kind WHERE id = :id", kind=kind.value, id=asset.id)
    seen(platform, lock_id, battery_pct=80)
    return lock_id, asset


def seen(platform: Platform, lock_id: str, battery_pct: int = 80, step: float = 0.0) -> None:
    with platform.uow() as uow:
        uow.locks.record_seen(
            lock_id, utc_now(), battery_pct=battery_pct, lon=HERE[0] + step, lat=HERE[1] + step
        )
        uow.commit()


def telemetry_batch(platform: Platform, lock_ids: list[str], step: float) -> None:
    """One batch of fixes as lockctl stores it: one UPDATE of `locks` for all of them."""
    now = utc_now()
    reports = [
        TelemetryReported(
            lock_id, 1, 1000 + int(step * 1e6), now, now, True, HERE[0] + step, HERE[1], 42
        )
        for lock_id in lock_ids
    ]
    outcome = ingest_telemetry(platform.uow(), reports)
    assert not outcome.refused and len(outcome.applied) == len(lock_ids)


@pytest.fixture
def fleet(platform: Platform) -> dict[str, Any]:
    make_city(platform, CITY)
    make_city(platform, OTHER)
    bikes = [parked(platform) for _ in range(6)]
    ebike = parked(platform, kind=AssetKind.EBIKE)
    return {"bikes": bikes, "ebike": ebike}


def test_a_render_after_each_change_is_what_a_build_from_nothing_renders(platform, fleet):
    bikes, ebike = fleet["bikes"], fleet["ebike"]
    now = utc_now()
    assert len(render(platform, CITY, now)) == 7  # the first render builds them all
    rider = make_user(platform)

    def hold(asset_id: uuid.UUID, minutes: float) -> None:
        sql(
            platform,
            "INSERT INTO reservations (id, rider_id, asset_id, idempotency_key, state, tariff,"
            " created_at, expires_at) VALUES (gen_random_uuid(), :rider, :asset, 'k', 'held',"
            " '{}', now(), now() + make_interval(secs => :seconds))",
            rider=rider.id,
            asset=asset_id,
            seconds=minutes * 60,
        )

    changes: list[tuple[str, Callable[[], None]]] = [
        ("telemetry", lambda: telemetry_batch(platform, [b for b, _ in bikes[:3]], 1e-3)),
        ("a lock seen with a low battery", lambda: seen(platform, ebike[0], battery_pct=9)),
        ("a lock offline", lambda: _offline(platform, bikes[3][0])),
        ("out of service", lambda: sql(platform, "UPDATE assets SET in_service = false"
                                       " WHERE id = :id", id=bikes[4][1].id)),
        ("a new public id", lambda: sql(platform, "UPDATE assets SET public_id ="
                                        " gen_random_uuid() WHERE id = :id", id=bikes[5][1].id)),
        ("a new bike", lambda: parked(platform) and None),
        ("moved to another city", lambda: sql(platform, "UPDATE assets SET city_id = :city"
                                              " WHERE id = :id", city=OTHER, id=bikes[0][1].id)),
        ("taken out of the fleet", lambda: sql(platform, "DELETE FROM assets WHERE id = :id",
                                               id=bikes[1][1].id)),
        ("rented", lambda: _rented(platform)),
        ("held", lambda: hold(bikes[2][1].id, 10)),
        ("damaged", lambda: sql(platform, "INSERT INTO damage_reports (id, asset_id,"
                                " reporter_id, category, state) VALUES (gen_random_uuid(),"
                                " :asset, :rider, 'brakes', 'open')", asset=bikes[5][1].id,
                                rider=rider.id)),
    ]  # fmt: skip
    for what, change in changes:
        change()
        assert render(platform, CITY, now) == built_from_nothing(platform, CITY, now), what
    elsewhere = render(platform, OTHER, now)
    assert elsewhere == built_from_nothing(platform, OTHER, now)
    assert [vehicle["vehicle_id"] for vehicle in elsewhere] == [public_id(platform, bikes[0][1].id)]

    later = now + timedelta(minutes=20)  # the hold has ended
    assert render(platform, CITY, later) == built_from_nothing(platform, CITY, later)
    silent = now + POLICY.silence + timedelta(seconds=1)  # every lock gone quiet
    listed = render(platform, CITY, silent)
    assert listed == built_from_nothing(platform, CITY, silent)
    assert all(vehicle["is_disabled"] for vehicle in listed)


def _offline(platform: Platform, lock_id: str) -> None:
    with platform.uow() as uow:
        uow.locks.record_presence(lock_id, False, 2, utc_now())
        uow.commit()


def _rented(platform: Platform) -> None:
    lock_id = new_lock_id()
    started_rental(platform, lock_id, city=CITY)
    seen(platform, lock_id)


def test_a_render_writes_again_only_the_vehicles_changed_since_the_last(platform, fleet):
    bikes = fleet["bikes"]
    now = utc_now()
    render(platform, CITY, now)
    before = row_versions(platform)

    seen(platform, bikes[2][0], step=2e-3)
    listed = render(platform, CITY, now)

    after = row_versions(platform)
    assert {asset for asset in before if before[asset] != after[asset]} == {bikes[2][1].id}
    moved = next(v for v in listed if v["vehicle_id"] == public_id(platform, bikes[2][1].id))
    assert moved["lon"] == pytest.approx(HERE[0] + 2e-3)
    with platform.engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM vehicle_status_changes"))
        assert left.scalar_one() == 0  # every change rendered is forgotten


def test_other_rules_build_every_row_again(platform, fleet):
    now = utc_now()
    assert not any(vehicle["is_disabled"] for vehicle in render(platform, CITY, now))
    fussy = ServicePolicy(low_battery_pct=90)  # every battery here is at 80 %
    assert all(vehicle["is_disabled"] for vehicle in render(platform, CITY, now, fussy))
    assert not any(vehicle["is_disabled"] for vehicle in render(platform, CITY, now))


def move(connection: Any, lock_id: str, lon: float) -> None:
    connection.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait fails, not hangs
    connection.execute(
        text(
            "UPDATE locks SET position = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) WHERE id = :id"
        ),
        {"lon": lon, "lat": HERE[1], "id": lock_id},
    )


def test_a_change_being_written_during_a_render_is_rendered_by_the_next(platform, fleet):
    """Neither the render nor the forgetting of what it rendered waits for the writer's
    transaction, and neither forgets the writer's change."""
    lock_id, asset = fleet["bikes"][0]
    now = utc_now()
    render(platform, CITY, now)
    seen(platform, lock_id, step=1e-3)  # noted and committed: the next render takes it
    with platform.engine.connect() as writer:
        move(writer, lock_id, HERE[0] + 5e-3)  # noted, not committed
        with platform.engine.connect() as renderer:
            renderer.execute(text("SET LOCAL lock_timeout = '2s'"))
            repository = OpenDataRepository(renderer)
            during = repository.vehicles_json(CITY, list(open_data.KINDS), now, POLICY)
            renderer.commit()
            repository.forget_changes(CITY, during.changes)
            renderer.commit()
        writer.commit()
    vehicle_id = public_id(platform, asset.id)
    lon_during = next(v["lon"] for v in json.loads(during.json) if v["vehicle_id"] == vehicle_id)
    assert lon_during == pytest.approx(HERE[0] + 1e-3)
    lon_after = next(v["lon"] for v in render(platform, CITY, now) if v["vehicle_id"] == vehicle_id)
    assert lon_after == pytest.approx(HERE[0] + 5e-3)


def test_a_writer_never_waits_for_a_render_of_its_vehicle(platform, fleet):
    """A render holds no lock a writer of a vehicle it rendered would wait for, before or
    after it forgets the vehicle's change: the render's transaction may last (the feed is
    compressed and stored in it)."""
    lock_id, asset = fleet["bikes"][1]
    now = utc_now()
    render(platform, CITY, now)
    seen(platform, lock_id, step=2e-3)
    with platform.engine.connect() as renderer:
        repository = OpenDataRepository(renderer)
        rendered = repository.vehicles_json(CITY, list(open_data.KINDS), now, POLICY)
        assert asset.id in {asset_id for asset_id, _ in rendered.changes}
        with platform.engine.begin() as writer:
            move(writer, lock_id, HERE[0] + 7e-3)  # while the render's transaction is open
        renderer.commit()
        repository.forget_changes(CITY, rendered.changes)
        renderer.commit()
    vehicle_id = public_id(platform, asset.id)
    listed = {v["vehicle_id"]: v for v in render(platform, CITY, now)}
    assert listed[vehicle_id]["lon"] == pytest.approx(HERE[0] + 7e-3)  # noted after: kept


def test_a_vehicle_changed_in_a_rental_is_written_again_once_the_rental_is_over(platform, fleet):
    """Its fixes are noted but its row is not written while it is not listed."""
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id, city=CITY)
    now = utc_now()
    render(platform, CITY, now)
    seen(platform, lock_id, step=3e-3)

    assert lock_id not in str(render(platform, CITY, now))
    with platform.engine.connect() as connection:
        noted = connection.execute(
            text("SELECT count(*) FROM vehicle_status_changes WHERE asset_id = :id"),
            {"id": rental.asset_id},
        )
        assert noted.scalar_one() == 1  # kept for when the rental is over

    # Over without a word from the lock or a new public id: the change noted is enough.
    sql(platform, "UPDATE rentals SET state = 'failed' WHERE id = :id", id=rental.id)
    vehicle_id = public_id(platform, rental.asset_id)
    listed = {v["vehicle_id"]: v for v in render(platform, CITY, now)}
    assert listed[vehicle_id]["lon"] == pytest.approx(HERE[0] + 3e-3)
    assert render(platform, CITY, now) == built_from_nothing(platform, CITY, now)


def test_a_rental_ending_during_a_render_leaves_its_vehicle_to_the_next(platform, fleet):
    """The render read the vehicle as rented (its row waiting, from before the trip); a
    rental that ends before the render joins its rows does not bring that row back."""
    lock_id = new_lock_id()
    _, rental, _ = started_rental(platform, lock_id, city=CITY)
    seen(platform, lock_id, step=4e-3)
    now = utc_now()
    with platform.engine.connect() as renderer:
        repository = OpenDataRepository(renderer)
        # The rental ends between the render's reading of the notes and its join.
        ended = False

        def end_rental(connection: Any, statement: Any, *args: Any) -> None:
            nonlocal ended
            if not ended and "string_agg" in str(statement):
                ended = True
                sql(platform, "UPDATE rentals SET state = 'failed' WHERE id = :id", id=rental.id)

        event.listen(renderer, "before_execute", end_rental)
        rendered = repository.vehicles_json(CITY, list(open_data.KINDS), now, POLICY)
        renderer.commit()
    assert ended
    vehicle_id = public_id(platform, rental.asset_id)
    assert vehicle_id not in rendered.json  # not from the row kept before the trip
    listed = {v["vehicle_id"]: v for v in render(platform, CITY, now)}
    assert listed[vehicle_id]["lon"] == pytest.approx(HERE[0] + 4e-3)  # the next one does


def test_a_note_forgotten_and_noted_again_is_never_taken_for_the_one_rendered(platform, fleet):
    """Versions come from a sequence: a vehicle noted again after its note was forgotten
    does not get the version an earlier render read, which that render would then forget."""
    lock_id, asset = fleet["bikes"][0]
    now = utc_now()
    render(platform, CITY, now)
    seen(platform, lock_id, step=1e-3)
    with platform.engine.connect() as connection:
        first = OpenDataRepository(connection).vehicles_json(
            CITY, list(open_data.KINDS), now, POLICY
        )
        connection.rollback()  # read, not rendered: as by a render that will forget late
    render(platform, CITY, now)  # renders and forgets the note
    seen(platform, lock_id, step=6e-3)  # noted again, not rendered
    with platform.engine.begin() as connection:
        OpenDataRepository(connection).forget_changes(CITY, first.changes)  # the late forget
    listed = {v["vehicle_id"]: v for v in render(platform, CITY, now)}
    assert listed[public_id(platform, asset.id)]["lon"] == pytest.approx(HERE[0] + 6e-3)


def test_each_city_keeps_its_own_rows_of_a_vehicle_that_moved(platform, fleet):
    _, asset = fleet["bikes"][0]
    now = utc_now()
    render(platform, CITY, now)
    render(platform, OTHER, now)
    sql(platform, "UPDATE assets SET city_id = :city WHERE id = :id", city=OTHER, id=asset.id)
    vehicle_id = public_id(platform, asset.id)

    assert vehicle_id in {v["vehicle_id"] for v in render(platform, OTHER, now)}
    assert vehicle_id not in {v["vehicle_id"] for v in render(platform, CITY, now)}
    assert vehicle_id in {v["vehicle_id"] for v in render(platform, OTHER, now)}
    with platform.engine.connect() as connection:
        kept = connection.execute(
            text("SELECT city_id FROM vehicle_status_rows WHERE asset_id = :id"), {"id": asset.id}
        )
        assert kept.scalars().all() == [OTHER]


def test_emptying_the_fleet_tables_builds_every_city_again(platform, fleet):
    now = utc_now()
    assert render(platform, CITY, now)
    sql(platform, "TRUNCATE assets CASCADE")
    assert render(platform, CITY, now) == []
