"""Riders report damage; operators repair, close reports and return assets to service.

A rider reports damage only on an asset they rode or tried to take moments ago, a few
times a day (`rental.domain.fair_use`). An asset with an open damage report is hidden
from riders (search and scans) until operators close every report on it, one by one or
all of the asset's at once; operators may also take an asset out of service and clear the
retrieval flag once staff moved a badly parked bike.
"""

import uuid
from datetime import datetime
from typing import assert_never

from rental.domain.errors import Conflict, Forbidden, LimitReached, NotFound
from rental.domain.fair_use import (
    DEFAULT_REPORTING_RULES,
    REPORTING_DAY,
    ReportingRules,
    reports_allowed_again_at,
    was_at_the_asset,
    whole_minutes,
)
from rental.domain.fleet import Asset
from rental.domain.maintenance import DamageReport, ReportState
from rental.domain.maintenance import RebalanceStep as RebalanceStep  # rebalancing imports it
from rental.domain.mds import VehicleEvent
from rental.services.cities import check_known
from rental.services.commands.maintenance import (
    CloseAssetReports,
    CloseDamageReport,
    ListDamageReports,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)
from rental.services.damage_photos import photo_to_attach
from rental.services.read_models import DamageReportEntry
from rental.services.unit_of_work import UnitOfWork


def report_damage(
    uow: UnitOfWork,
    command: ReportDamage,
    now: datetime,
    rules: ReportingRules = DEFAULT_REPORTING_RULES,
) -> tuple[DamageReport, bool]:
    """Returns the report and whether it is new: a rider's repeat while their report of the
    asset is open amends that one (`DamageReport.amend`: nothing said is lost, and one
    rider stays one report).

    A photo the command names must be one this rider uploaded.

    Raises NotFound (`asset_not_found`, `photo_not_found`), Forbidden (`report_not_eligible`:
    the rider did not ride or try to take the asset recently) or LimitReached
    (`report_limit_reached`)."""
    with uow:
        # The rider first, then the asset: every report takes its locks in this order.
        uow.damage_reports.lock_reporter(command.reporter_id)
        asset = _asset_for_update(uow, command.asset_code)
        open_reports = uow.damage_reports.open_on_asset(asset.id)
        earlier = next((r for r in open_reports if r.reporter_id == command.reporter_id), None)
        if earlier is None:
            _check_may_report(uow, command.reporter_id, asset.id, now, rules)
        if command.photo_id is not None:
            photo_to_attach(uow, command.photo_id, command.reporter_id)
        photo_ref = None if command.photo_id is None else str(command.photo_id)
        if earlier is not None:
            earlier.amend(command.category, photo_ref, command.note)
            uow.damage_reports.save(earlier)
            uow.commit()
            return earlier, False
        report = DamageReport(
            uuid.uuid4(),
            asset.id,
            command.reporter_id,
            command.category,
            ReportState.OPEN,
            now,
            photo_ref,
            command.note,
        )
        uow.damage_reports.add(report)
        if not open_reports:
            uow.vehicle_history.record(VehicleEvent.DAMAGE_REPORTED, now, asset_id=asset.id)
        uow.commit()
    return report, True


def _check_may_report(
    uow: UnitOfWork,
    reporter_id: uuid.UUID,
    asset_id: uuid.UUID,
    now: datetime,
    rules: ReportingRules,
) -> None:
    since = now - rules.looking_back
    rentals = uow.rentals.of_rider_on_asset(reporter_id, asset_id, since)
    holds = uow.reservations.of_rider_on_asset(reporter_id, asset_id, since)
    if not was_at_the_asset(rentals, holds, now, rules):
        raise Forbidden(
            "you can report damage on a vehicle or item you are riding, rode in the last "
            f"{whole_minutes(rules.after_ride)} minutes, or tried to unlock or held in the last "
            f"{whole_minutes(rules.after_try)} minutes",
            "report_not_eligible",
        )
    reported = uow.damage_reports.reported_since(reporter_id, now - REPORTING_DAY)
    retry_at = reports_allowed_again_at(reported, now, rules)
    if retry_at is not None:
        raise LimitReached(
            f"you have sent {rules.per_day} damage reports in the last 24 hours, the most "
            "a rider can: thank you, staff are checking them",
            "report_limit_reached",
            retry_at=retry_at,
            now=now,
        )


def close_report(uow: UnitOfWork, command: CloseDamageReport, now: datetime) -> DamageReport:
    with uow:
        report = uow.damage_reports.get(command.report_id, for_update=True)
        if report is None:
            raise NotFound("no such damage report", "report_not_found")
        report.close(command.operator_id, command.resolution, now)
        uow.damage_reports.save(report)
        if not uow.damage_reports.open_on_asset(report.asset_id):
            uow.vehicle_history.record(VehicleEvent.DAMAGE_CLEARED, now, asset_id=report.asset_id)
        uow.commit()
    return report


def close_asset_reports(
    uow: UnitOfWork, command: CloseAssetReports, now: datetime
) -> list[DamageReport]:
    """Close every open report on the asset with one resolution (the operator looked at
    the asset); the reports closed, none when none was open. NotFound for an unknown code."""
    with uow:
        asset = _asset_for_update(uow, command.asset_code)
        closing = uow.damage_reports.open_on_asset(asset.id)
        for report in closing:
            report.close(command.operator_id, command.resolution, now)
            uow.damage_reports.save(report)
        if closing:
            uow.vehicle_history.record(VehicleEvent.DAMAGE_CLEARED, now, asset_id=asset.id)
        uow.commit()
    return closing


def damage_reports(uow: UnitOfWork, query: ListDamageReports) -> list[DamageReportEntry]:
    with uow:
        check_known(uow, query.city_id)
        return uow.damage_reports.listing(query.city_id, query.state)


def update_asset(uow: UnitOfWork, command: UpdateAsset, now: datetime) -> Asset:
    """`in_service` takes an asset out of riders' sight or back; `needs_retrieval: false`
    records that staff moved it to an allowed place."""
    changes = {
        name: value
        for name, value in (
            ("in_service", command.in_service),
            ("needs_retrieval", command.needs_retrieval),
        )
        if value is not None
    }
    with uow:
        asset = _asset_for_update(uow, command.code)
        uow.assets.update_service(asset.id, **changes)
        in_service = changes.get("in_service", asset.in_service)
        if in_service != asset.in_service:
            change = VehicleEvent.SERVICE_RESUME if in_service else VehicleEvent.SERVICE_STOP
            uow.vehicle_history.record(change, now, asset_id=asset.id)
            asset.in_service = in_service
        uow.commit()
    return asset


def _asset_for_update(uow: UnitOfWork, code: str) -> Asset:
    target = uow.assets.for_scan(code, for_update=True)
    if target is None:
        raise NotFound(f"no asset with code {code}", "asset_not_found")
    return target.asset


def rebalance(uow: UnitOfWork, command: RebalanceAsset, now: datetime) -> Asset:
    """A truck crew loads a bike (out of riders' sight while on board) or puts it down
    (back in service where it stands). A bike in use or reserved stays where it is."""
    with uow:
        asset = move_bike(uow, command.code, command.step, now, command.position)
        uow.commit()
    return asset


def move_bike(
    uow: UnitOfWork,
    code: str,
    step: RebalanceStep,
    now: datetime,
    position: tuple[float, float] | None = None,
) -> Asset:
    """`rebalance` inside the caller's transaction (a driver's stop moves several bikes)."""
    target = uow.assets.for_scan(code, for_update=True)
    if target is None:
        raise NotFound(f"no asset with code {code}", "asset_not_found")
    asset = target.asset
    match step:
        case RebalanceStep.PICK_UP:
            if target.taken:
                raise Conflict("a rider has this bike", "asset_in_use")
            if _reserved(uow, target.held_reservation_id, now):
                raise Conflict("a rider has reserved this bike", "asset_reserved")
            if not asset.in_service:
                raise Conflict("this bike is out of service already", "not_in_service")
            in_service, change = False, VehicleEvent.REBALANCE_PICK_UP
        case RebalanceStep.DROP_OFF:
            if asset.in_service:
                raise Conflict("this bike was not picked up", "not_picked_up")
            in_service, change = True, VehicleEvent.REBALANCE_DROP_OFF
        case _:
            assert_never(step)
    uow.assets.update_service(asset.id, in_service=in_service)
    lon, lat = position or (None, None)
    uow.vehicle_history.record(change, now, asset_id=asset.id, lon=lon, lat=lat)
    asset.in_service = in_service
    return asset


def _reserved(uow: UnitOfWork, reservation_id: uuid.UUID | None, now: datetime) -> bool:
    if reservation_id is None:
        return False
    reservation = uow.reservations.get(reservation_id)
    return reservation is not None and reservation.is_live(now)
