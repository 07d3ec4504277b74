"""What each vehicle's history records, on PostGIS, and how long lock reports are kept."""

import uuid
from datetime import timedelta

from sqlalchemy import select, text

from rental.adapters.locks.protocol import Presence, Status, Telemetry
from rental.adapters.locks.reports import presence_reported, telemetry_reported
from rental.adapters.tables import vehicle_events
from rental.bootstrap import utc_now
from rental.domain.maintenance import DamageCategory, RebalanceStep
from rental.services import lock_events, maintenance, reservations
from rental.services.commands.maintenance import (
    CloseDamageReport,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)
from rental.services.commands.rides import Reserve
from rental.services.retention import forget_old_lock_reports
from rental.services.telemetry import handle_telemetry
from tests.conftest import new_lock_id
from tests.helpers import ago, make_bike, make_user, ms, rider_who_tried
from tests.integration.test_availability import HOLD, POLICY, bike, city  # noqa: F401

LOW = POLICY.low_battery_pct


def history(platform, asset_id) -> list[str]:
    with platform.uow() as uow:
        query = (
            select(vehicle_events.c.kind)
            .where(vehicle_events.c.asset_id == asset_id)
            .order_by(vehicle_events.c.at, vehicle_events.c.recorded_at)
        )
        return list(uow.connection.execute(query).scalars())


def report(platform, lock_id, seq, battery, at=None):
    telemetry = Telemetry(1, seq, ms(at or utc_now()), 121.47, 31.23, True, battery)
    handle_telemetry(platform.uow(), telemetry_reported(lock_id, telemetry, utc_now()), 0, LOW)


def test_the_battery_is_recorded_when_it_crosses_the_line_only(platform):
    asset = bike(platform, battery=60)
    for seq, charge in enumerate((40, LOW - 1, 5, LOW, 90), start=1):
        report(platform, asset.lock_id, seq, charge)

    assert history(platform, asset.id) == ["battery_low", "battery_charged"]


def test_a_lock_dropping_off_and_back_is_recorded_once_each(platform):
    asset = bike(platform)
    for state, boot in ((Presence.OFFLINE, 1), (Presence.OFFLINE, 1), (Presence.ONLINE, 2)):
        lock_events.handle_status(
            platform.uow(), presence_reported(asset.lock_id, Status(state, boot), utc_now())
        )

    assert history(platform, asset.id) == ["comms_lost", "comms_restored"]


def test_an_expired_hold_ends_in_the_history_when_it_expired(platform):
    asset = bike(platform)
    rider = make_user(platform, credit_minor=1000)
    held_at = ago(HOLD.total_seconds() + 60)
    reservations.reserve(
        platform.uow(), Reserve(rider.id, asset.code, uuid.uuid4().hex), held_at, HOLD, POLICY
    )
    assert reservations.expire_reservations(platform.uow(), utc_now()) == 1

    with platform.uow() as uow:
        rows = uow.connection.execute(
            select(vehicle_events.c.kind, vehicle_events.c.at)
            .where(vehicle_events.c.asset_id == asset.id)
            .order_by(vehicle_events.c.at)
        ).all()
    assert [kind for kind, _ in rows] == ["reservation_start", "reservation_end"]
    assert rows[1].at == held_at + HOLD  # when it ran out, not when it was swept


def test_damage_is_recorded_when_the_first_report_opens_and_the_last_closes(platform):
    asset = bike(platform)
    operator = make_user(platform)
    reporters = [rider_who_tried(platform, asset) for _ in range(2)]
    opened = [
        maintenance.report_damage(
            platform.uow(),
            ReportDamage(reporter.id, asset.code, DamageCategory.BRAKES, None, None),
            utc_now(),
        )[0]
        for reporter in reporters
    ]
    for report_ in opened:
        closing = CloseDamageReport(operator.id, report_.id, "brakes fixed")
        maintenance.close_report(platform.uow(), closing, utc_now())

    assert history(platform, asset.id) == ["damage_reported", "damage_cleared"]


def test_a_vehicle_never_located_has_no_history(platform):
    lock_id = new_lock_id()
    _, never_seen = make_bike(platform, lock_id, city="holdcity")
    maintenance.update_asset(
        platform.uow(), UpdateAsset(never_seen.code, in_service=False), utc_now()
    )

    assert history(platform, never_seen.id) == []  # an MDS event needs a place


def test_a_rebalanced_bike_goes_out_of_service_and_back_where_the_crew_put_it(platform):
    asset = bike(platform)
    picking_up = RebalanceAsset(asset.code, RebalanceStep.PICK_UP, None)
    maintenance.rebalance(platform.uow(), picking_up, utc_now())
    dropping_off = RebalanceAsset(asset.code, RebalanceStep.DROP_OFF, (121.5, 31.25))
    moved = maintenance.rebalance(platform.uow(), dropping_off, utc_now())

    assert moved.in_service
    assert history(platform, asset.id) == ["rebalance_pick_up", "rebalance_drop_off"]
    with platform.uow() as uow:
        where = uow.connection.execute(
            text(
                "SELECT ST_X(position), ST_Y(position) FROM vehicle_events"
                " WHERE kind = 'rebalance_drop_off'"
            )
        ).one()
    assert tuple(where) == (121.5, 31.25)


def test_lock_reports_are_forgotten_after_their_retention(platform):
    asset = bike(platform)
    report(platform, asset.lock_id, 1, 80, at=ago(100 * 86400))
    report(platform, asset.lock_id, 2, 80)
    with platform.uow() as uow:
        for seq, days in ((1, 100), (2, 1)):
            uow.lock_log.record_event(asset.lock_id, 1, seq, "fault", None, {}, ago(days * 86400))
        uow.connection.execute(
            text("UPDATE lock_events SET received_at = lock_time WHERE lock_id = :id"),
            {"id": asset.lock_id},
        )
        uow.commit()

    forgotten = forget_old_lock_reports(platform.uow(), utc_now(), timedelta(days=90))

    with platform.uow() as uow:
        fixes = uow.connection.execute(text("SELECT seq FROM lock_positions")).scalars().all()
        events = uow.connection.execute(text("SELECT seq FROM lock_events")).scalars().all()
    assert (fixes, events, forgotten) == ([2], [2], 2)
