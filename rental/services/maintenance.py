"""Riders report damage; operators repair, close reports and return assets to service.

An asset with an open damage report is hidden from riders (search and scans) until
operators close every report on it; operators may also take an asset out of service
and clear the retrieval flag once staff moved a badly parked bike.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from rental.domain.choices import one_of
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import Asset, asset_code_from_qr
from rental.domain.maintenance import (
    DamageReport,
    ReportState,
    checked_category,
    checked_note,
    checked_photo_ref,
)
from rental.domain.mds import VehicleEvent
from rental.domain.trace import position_of
from rental.services.unit_of_work import UnitOfWork


def report_damage(
    uow: UnitOfWork, rider_id: uuid.UUID, body: dict[str, Any], now: datetime
) -> tuple[DamageReport, bool]:
    """Returns the report and whether it is new: a rider's repeat returns the open one."""
    code = body.get("code")
    if not isinstance(code, str):
        raise InvalidInput("code is required: the asset's code or QR URL", "invalid_qr")
    category = checked_category(body.get("category"))
    photo_ref = checked_photo_ref(body.get("photo_ref"))
    note = checked_note(body.get("note"))
    with uow:
        asset = _asset_for_update(uow, asset_code_from_qr(code))
        open_reports = uow.damage_reports.open_on_asset(asset.id)
        earlier = next((r for r in open_reports if r.reporter_id == rider_id), None)
        if earlier is not None:
            return earlier, False
        report = DamageReport(
            uuid.uuid4(), asset.id, rider_id, category, ReportState.OPEN, now, photo_ref, note
        )
        uow.damage_reports.add(report)
        if not open_reports:
            uow.vehicle_history.record(VehicleEvent.DAMAGE_REPORTED, now, asset_id=asset.id)
        uow.commit()
    return report, True


def close_report(
    uow: UnitOfWork,
    operator_id: uuid.UUID,
    report_id: uuid.UUID,
    resolution: object,
    now: datetime,
) -> DamageReport:
    text = checked_note(resolution, "resolution")
    if text is None:
        raise InvalidInput("resolution says what was done (repaired, no fault found, ...)")
    with uow:
        report = uow.damage_reports.get(report_id, for_update=True)
        if report is None:
            raise NotFound("no such damage report", "report_not_found")
        report.close(operator_id, text, now)
        uow.damage_reports.save(report)
        if not uow.damage_reports.open_on_asset(report.asset_id):
            uow.vehicle_history.record(VehicleEvent.DAMAGE_CLEARED, now, asset_id=report.asset_id)
        uow.commit()
    return report


def damage_reports(uow: UnitOfWork, city_id: str | None, state: str | None) -> list[dict[str, Any]]:
    if state is not None and state not in {s.value for s in ReportState}:
        raise InvalidInput("state is open or closed", "invalid_query")
    with uow:
        return uow.damage_reports.listing(city_id, state)


def update_asset(uow: UnitOfWork, code: str, body: dict[str, Any], now: datetime) -> Asset:
    """`in_service` takes an asset out of riders' sight or back; `needs_retrieval: false`
    records that staff moved it to an allowed place."""
    changes = {key: body[key] for key in ("in_service", "needs_retrieval") if key in body}
    if not changes or not all(isinstance(value, bool) for value in changes.values()):
        raise InvalidInput("give in_service and/or needs_retrieval as true or false")
    with uow:
        asset = _asset_for_update(uow, code)
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


class RebalanceStep(StrEnum):
    PICK_UP = "pick_up"
    DROP_OFF = "drop_off"


def rebalance(uow: UnitOfWork, code: str, body: dict[str, Any], now: datetime) -> Asset:
    """A truck crew loads a bike (out of riders' sight while on board) or puts it down
    (back in service where it stands). A bike in use or on hold stays where it is."""
    step = one_of(RebalanceStep, body.get("action"), "action", "invalid_action")
    position = _optional_position(body)
    with uow:
        asset = move_bike(uow, code, step, now, position)
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
    if step is RebalanceStep.PICK_UP:
        if target.taken:
            raise Conflict("a rider has this bike", "asset_in_use")
        if _held(uow, target.held_reservation_id, now):
            raise Conflict("a rider has reserved this bike", "asset_reserved")
        if not asset.in_service:
            raise Conflict("this bike is out of service already", "not_in_service")
    elif asset.in_service:
        raise Conflict("this bike was not picked up", "not_picked_up")
    in_service = step is RebalanceStep.DROP_OFF
    uow.assets.update_service(asset.id, in_service=in_service)
    change = VehicleEvent.REBALANCE_DROP_OFF if in_service else VehicleEvent.REBALANCE_PICK_UP
    lon, lat = position or (None, None)
    uow.vehicle_history.record(change, now, asset_id=asset.id, lon=lon, lat=lat)
    asset.in_service = in_service
    return asset


def _held(uow: UnitOfWork, reservation_id: uuid.UUID | None, now: datetime) -> bool:
    if reservation_id is None:
        return False
    held = uow.reservations.get(reservation_id)
    return held is not None and held.is_live(now)


def _optional_position(body: dict[str, Any]) -> tuple[float, float] | None:
    """Where the crew says the bike is; the lock's own report otherwise."""
    lon, lat = body.get("lon"), body.get("lat")
    if lon is None and lat is None:
        return None
    position = position_of(lon, lat)
    if position is None:
        raise InvalidInput("lon and lat, when given, are WGS 84 degrees", "invalid_position")
    return position
