"""Damage reports in PostgreSQL."""

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, select, update

from rental.adapters.repositories import AdvisoryLock, conflicts_as_errors, hold_rider_lock
from rental.adapters.tables import OPEN_DAMAGE_REPORT, assets, damage_reports
from rental.domain.maintenance import DamageCategory, DamageReport, ReportState
from rental.services.read_models import DamageReportEntry


class DamageReportRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, report: DamageReport) -> None:
        with conflicts_as_errors():
            self._c.execute(insert(damage_reports).values(**_values(report)))

    def save(self, report: DamageReport) -> None:
        self._c.execute(
            update(damage_reports).where(damage_reports.c.id == report.id).values(**_values(report))
        )

    def get(self, report_id: UUID, *, for_update: bool = False) -> DamageReport | None:
        query = select(damage_reports).where(damage_reports.c.id == report_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return _report(row) if row else None

    def open_on_asset(self, asset_id: UUID) -> list[DamageReport]:
        rows = self._c.execute(
            select(damage_reports)
            .where(damage_reports.c.asset_id == asset_id, OPEN_DAMAGE_REPORT)
            .with_for_update()
        ).mappings()
        return [_report(row) for row in rows]

    def lock_reporter(self, reporter_id: UUID) -> None:
        hold_rider_lock(self._c, AdvisoryLock.DAMAGE_REPORTS, reporter_id)

    def reported_since(self, reporter_id: UUID, since: datetime) -> list[datetime]:
        rows = self._c.execute(
            select(damage_reports.c.created_at).where(
                damage_reports.c.reporter_id == reporter_id,
                damage_reports.c.created_at >= since,
            )
        )
        return [row.created_at for row in rows]

    def listing(self, city_id: str | None, state: ReportState | None) -> list[DamageReportEntry]:
        query = (
            select(damage_reports, assets.c.code.label("asset_code"), assets.c.city_id)
            .join(assets, assets.c.id == damage_reports.c.asset_id)
            .order_by(damage_reports.c.created_at.desc())
            .limit(500)
        )
        if city_id is not None:
            query = query.where(assets.c.city_id == city_id)
        if state is not None:
            query = query.where(damage_reports.c.state == state.value)
        return [
            DamageReportEntry(_report(row), row["asset_code"], row["city_id"])
            for row in self._c.execute(query).mappings()
        ]


def _values(report: DamageReport) -> dict[str, Any]:
    return {**asdict(report), "category": report.category.value, "state": report.state.value}


def _report(row: RowMapping) -> DamageReport:
    return DamageReport(
        id=row["id"],
        asset_id=row["asset_id"],
        reporter_id=row["reporter_id"],
        category=DamageCategory(row["category"]),
        state=ReportState(row["state"]),
        created_at=row["created_at"],
        photo_ref=row["photo_ref"],
        note=row["note"],
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
        resolution=row["resolution"],
    )
