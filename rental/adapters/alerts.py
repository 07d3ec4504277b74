"""Operator alerts in PostgreSQL: at most one open alert per kind and lock."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import NO_ASSET, alerts, assets, cabinets
from rental.domain.alerts import Alert, AlertKind

MAX_ALERTS = 1000


class AlertRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def open(
        self,
        kind: AlertKind,
        lock_id: str,
        detail: str,
        at: datetime,
        asset_id: UUID | None = None,
    ) -> bool:
        """Open an alert unless one of this kind is open for this lock and asset (a
        vehicle's lock, or a cabinet with `asset_id` naming the item); True if opened."""
        which = assets.c.id == asset_id if asset_id is not None else assets.c.lock_id == lock_id
        row = self._c.execute(select(assets.c.id, assets.c.city_id).where(which)).first()
        opened = self._c.execute(
            insert(alerts)
            .values(
                kind=kind.value,
                lock_id=lock_id,
                asset_id=row[0] if row else None,
                city_id=row[1] if row else None,
                detail=detail,
                opened_at=at,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    alerts.c.kind,
                    alerts.c.lock_id,
                    func.coalesce(alerts.c.asset_id, text(NO_ASSET)),
                ],
                index_where=alerts.c.resolved_at.is_(None),
            )
            .returning(alerts.c.id)
        ).first()
        return opened is not None

    def resolve(self, kind: AlertKind, lock_id: str, at: datetime) -> None:
        self._c.execute(
            update(alerts)
            .where(alerts.c.kind == kind.value, alerts.c.lock_id == lock_id)
            .where(alerts.c.resolved_at.is_(None))
            .values(resolved_at=at)
        )

    def resolve_all_but(self, kind: AlertKind, still_open: set[str], at: datetime) -> int:
        """Resolve this kind's open alerts whose lock is not in `still_open`; how many."""
        query = (
            update(alerts)
            .where(alerts.c.kind == kind.value, alerts.c.resolved_at.is_(None))
            .values(resolved_at=at)
        )
        if still_open:
            query = query.where(alerts.c.lock_id.not_in(still_open))
        return self._c.execute(query).rowcount

    def resolve_misplaced_items_moved(self, at: datetime) -> int:
        """Misplaced-item alerts whose item is no longer in a cabinet of another kind."""
        still = (
            select(assets.c.id)
            .join(cabinets, cabinets.c.lock_id == assets.c.cabinet_id)
            .where(assets.c.id == alerts.c.asset_id, cabinets.c.kind != assets.c.kind)
        )
        query = (
            update(alerts)
            .where(alerts.c.kind == AlertKind.MISPLACED_ITEM.value, alerts.c.resolved_at.is_(None))
            .where(~still.exists())
            .values(resolved_at=at)
        )
        return self._c.execute(query).rowcount

    def list(self, city_id: str | None, *, include_resolved: bool = False) -> list[Alert]:
        query = (
            select(alerts, assets.c.code.label("asset_code"))
            .outerjoin(assets, assets.c.id == alerts.c.asset_id)
            .order_by(alerts.c.opened_at.desc())
            .limit(MAX_ALERTS)
        )
        if city_id is not None:
            query = query.where(alerts.c.city_id == city_id)
        if not include_resolved:
            query = query.where(alerts.c.resolved_at.is_(None))
        return [_alert(row) for row in self._c.execute(query).mappings()]


def _alert(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        kind=AlertKind(row["kind"]),
        lock_id=row["lock_id"],
        asset_id=row["asset_id"],
        asset_code=row["asset_code"],
        city_id=row["city_id"],
        detail=row["detail"],
        opened_at=row["opened_at"],
        resolved_at=row["resolved_at"],
    )
