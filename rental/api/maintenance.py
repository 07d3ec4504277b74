"""Damage reports from riders; operators close them and put assets back in service."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import platform
from rental.api.parsing import json_body, path_uuid, string
from rental.domain.choices import one_of
from rental.domain.errors import InvalidInput
from rental.domain.fleet import asset_code_from_qr
from rental.domain.maintenance import (
    DamageReport,
    RebalanceStep,
    ReportState,
    checked_category,
    checked_note,
    checked_photo_ref,
)
from rental.domain.riders import Role
from rental.domain.trace import position_of
from rental.services import maintenance
from rental.services.commands.maintenance import (
    CloseAssetReports,
    CloseDamageReport,
    ListDamageReports,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)

blueprint = Blueprint("maintenance", __name__, url_prefix="/api/v1")


@blueprint.post("/damage-reports")
@requires(Role.RIDER)
def report_damage() -> tuple[dict[str, Any], int]:
    """`{code, category, photo_ref?, note?}`; a repeat by the same rider returns the first."""
    body = json_body()
    code = string(body, "code", "code is required: the asset's code or QR URL", "invalid_qr")
    category = checked_category(body.get("category"))
    photo_ref = checked_photo_ref(body.get("photo_ref"))
    note = checked_note(body.get("note"))
    command = ReportDamage(current_user_id(), asset_code_from_qr(code), category, photo_ref, note)
    p = platform()
    report, new = maintenance.report_damage(p.uow(), command, p.now(), p.config.reporting_rules())
    return report_view(report), 201 if new else 200


@blueprint.get("/ops/damage-reports")
@requires(Role.OPERATOR)
def list_reports() -> dict[str, Any]:
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in ReportState}:
        raise InvalidInput("state is open or closed", "invalid_query")
    query = ListDamageReports(
        request.args.get("city_id"), None if state is None else ReportState(state)
    )
    return {
        "reports": [
            {
                "id": str(entry.report.id),
                "asset_code": entry.asset_code,
                "city_id": entry.city_id,
                "category": entry.report.category.value,
                "photo_ref": entry.report.photo_ref,
                "note": entry.report.note,
                "state": entry.report.state.value,
                "created_at": entry.report.created_at.isoformat(),
                "closed_at": _closed_at(entry.report),
                "resolution": entry.report.resolution,
            }
            for entry in maintenance.damage_reports(platform().uow(), query)
        ]
    }


@blueprint.post("/ops/damage-reports/<report_id>/close")
@requires(Role.OPERATOR)
def close_report(report_id: str) -> dict[str, Any]:
    report = path_uuid(report_id, "report")
    resolution = checked_note(json_body().get("resolution"), "resolution")
    if resolution is None:
        raise InvalidInput("resolution says what was done (repaired, no fault found, ...)")
    p = platform()
    closed = maintenance.close_report(
        p.uow(), CloseDamageReport(current_user_id(), report, resolution), p.now()
    )
    return report_view(closed)


@blueprint.post("/ops/assets/<code>/damage-reports/close")
@requires(Role.OPERATOR)
def close_asset_reports(code: str) -> dict[str, Any]:
    """`{resolution}`: close every open report on the asset at once; answers
    `{asset_code, closed: [report]}` (empty when none was open)."""
    resolution = checked_note(json_body().get("resolution"), "resolution")
    if resolution is None:
        raise InvalidInput("resolution says what was done (repaired, no fault found, ...)")
    p = platform()
    command = CloseAssetReports(current_user_id(), code, resolution)
    closed = maintenance.close_asset_reports(p.uow(), command, p.now())
    return {"asset_code": code, "closed": [report_view(report) for report in closed]}


@blueprint.patch("/ops/assets/<code>")
@requires(Role.OPERATOR)
def update_asset(code: str) -> dict[str, Any]:
    """`{in_service?, needs_retrieval?}`: take out of service, return, mark as retrieved."""
    body = json_body()
    changes = {key: body[key] for key in ("in_service", "needs_retrieval") if key in body}
    if not changes or not all(isinstance(value, bool) for value in changes.values()):
        raise InvalidInput("give in_service and/or needs_retrieval as true or false")
    p = platform()
    asset = maintenance.update_asset(p.uow(), UpdateAsset(code, **changes), p.now())
    return {"code": asset.code, "in_service": asset.in_service}


@blueprint.post("/ops/assets/<code>/rebalance")
@requires(Role.OPERATOR)
def rebalance(code: str) -> dict[str, Any]:
    """`{action: pick_up | drop_off, lon?, lat?}`: a truck crew moves a bike."""
    body = json_body()
    step = one_of(RebalanceStep, body.get("action"), "action", "invalid_action")
    command = RebalanceAsset(code, step, _optional_position(body))
    p = platform()
    asset = maintenance.rebalance(p.uow(), command, p.now())
    return {"code": asset.code, "in_service": asset.in_service}


def _optional_position(body: dict[str, Any]) -> tuple[float, float] | None:
    """Where the crew says the bike is; the lock's own report otherwise."""
    lon, lat = body.get("lon"), body.get("lat")
    if lon is None and lat is None:
        return None
    position = position_of(lon, lat)
    if position is None:
        raise InvalidInput("lon and lat, when given, are WGS 84 degrees", "invalid_position")
    return position


def report_view(report: DamageReport) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "asset_id": str(report.asset_id),
        "category": report.category.value,
        "photo_ref": report.photo_ref,
        "note": report.note,
        "state": report.state.value,
        "created_at": report.created_at.isoformat(),
        "closed_at": _closed_at(report),
        "resolution": report.resolution,
    }


def _closed_at(report: DamageReport) -> str | None:
    return report.closed_at.isoformat() if report.closed_at else None
