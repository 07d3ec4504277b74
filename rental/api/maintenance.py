"""Damage reports from riders; operators close them and put assets back in service."""

from typing import Any

from flask import Blueprint, request

from rental.api.auth import current_user_id, requires
from rental.api.common import json_body, parse_uuid, platform
from rental.domain.maintenance import DamageReport
from rental.domain.riders import Role
from rental.services import maintenance

blueprint = Blueprint("maintenance", __name__, url_prefix="/api/v1")


@blueprint.post("/damage-reports")
@requires(Role.RIDER)
def report_damage() -> tuple[dict[str, Any], int]:
    """`{code, category, photo_ref?, note?}`; a repeat by the same rider returns the first."""
    p = platform()
    report, new = maintenance.report_damage(p.uow(), current_user_id(), json_body(), p.now())
    return report_view(report), 201 if new else 200


@blueprint.get("/ops/damage-reports")
@requires(Role.OPERATOR)
def list_reports() -> dict[str, Any]:
    rows = maintenance.damage_reports(
        platform().uow(), request.args.get("city_id"), request.args.get("state")
    )
    return {
        "reports": [
            {
                "id": str(row["id"]),
                "asset_code": row["asset_code"],
                "city_id": row["city_id"],
                "category": row["category"],
                "photo_ref": row["photo_ref"],
                "note": row["note"],
                "state": row["state"],
                "created_at": row["created_at"].isoformat(),
                "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
                "resolution": row["resolution"],
            }
            for row in rows
        ]
    }


@blueprint.post("/ops/damage-reports/<report_id>/close")
@requires(Role.OPERATOR)
def close_report(report_id: str) -> dict[str, Any]:
    p = platform()
    report = maintenance.close_report(
        p.uow(),
        current_user_id(),
        parse_uuid(report_id, "report"),
        json_body().get("resolution"),
        p.now(),
    )
    return report_view(report)


@blueprint.patch("/ops/assets/<code>")
@requires(Role.OPERATOR)
def update_asset(code: str) -> dict[str, Any]:
    """`{in_service?, needs_retrieval?}`: take out of service, return, mark as retrieved."""
    p = platform()
    asset = maintenance.update_asset(p.uow(), code, json_body(), p.now())
    return {"code": asset.code, "in_service": asset.in_service}


@blueprint.post("/ops/assets/<code>/rebalance")
@requires(Role.OPERATOR)
def rebalance(code: str) -> dict[str, Any]:
    """`{action: pick_up | drop_off, lon?, lat?}`: a truck crew moves a bike."""
    p = platform()
    asset = maintenance.rebalance(p.uow(), code, json_body(), p.now())
    return {"code": asset.code, "in_service": asset.in_service}


def report_view(report: DamageReport) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "asset_id": str(report.asset_id),
        "category": report.category.value,
        "photo_ref": report.photo_ref,
        "note": report.note,
        "state": report.state.value,
        "created_at": report.created_at.isoformat(),
        "closed_at": report.closed_at.isoformat() if report.closed_at else None,
        "resolution": report.resolution,
    }
