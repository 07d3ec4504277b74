"""Pricing plans in PostgreSQL: one current version per city and kind, old ones kept."""

import uuid
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from rental.adapters.tables import assets, pricing_plans
from rental.domain.pricing import PricingPlan, Tariff

TARIFF_FIELDS = (
    "currency",
    "unlock_fee_minor",
    "rate_per_interval_minor",
    "interval_seconds",
    "free_seconds",
    "daily_cap_minor",
    "reservation_per_minute_minor",
    "out_of_zone_fee_minor",
    "replacement_price_minor",
)
# The one definition of "current": a plan is current until a newer version retires it.
CURRENT = pricing_plans.c.retired_at.is_(None)
# Joined beside an asset: the current plan of its kind in its city (None if there is none).
CURRENT_PLAN_OF_ASSET = (
    (pricing_plans.c.city_id == assets.c.city_id)
    & (pricing_plans.c.kind == assets.c.kind)
    & CURRENT
)
# The plan's columns where they sit beside others in one row, read back by `joined_plan`
# (which needs not its times: fewer columns to send and convert per row).
PLAN_PREFIX = "plan__"
PLAN_COLUMNS = tuple(
    c.label(f"{PLAN_PREFIX}{c.name}")
    for c in pricing_plans.c
    if c.name not in ("created_at", "retired_at")
)


class PricingPlanRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def publish(
        self,
        city_id: str,
        kind: str,
        tariff: Tariff,
        deposit_minor: int = 0,
        deposit_waiver_score: int | None = None,
    ) -> PricingPlan:
        """Make `tariff` the current price; rentals already priced keep theirs."""
        self._c.execute(
            update(pricing_plans)
            .where(pricing_plans.c.city_id == city_id, pricing_plans.c.kind == kind, CURRENT)
            .values(retired_at=func.now())
        )
        plan = PricingPlan(uuid.uuid4(), city_id, kind, tariff, deposit_minor, deposit_waiver_score)
        values = {name: getattr(tariff, name) for name in TARIFF_FIELDS}
        self._c.execute(
            insert(pricing_plans).values(
                id=plan.id,
                city_id=city_id,
                kind=kind,
                deposit_minor=deposit_minor,
                deposit_waiver_score=deposit_waiver_score,
                **values,
            )
        )
        return plan

    def current(self, city_id: str, kind: str | None = None) -> list[PricingPlan]:
        query = select(pricing_plans).where(pricing_plans.c.city_id == city_id, CURRENT)
        if kind is not None:
            query = query.where(pricing_plans.c.kind == kind)
        rows = self._c.execute(query.order_by(pricing_plans.c.kind)).mappings()
        return [plan_from_row(row) for row in rows]


def plan_from_row(row: RowMapping | dict[str, Any], prefix: str = "") -> PricingPlan:
    tariff = Tariff(**{name: row[prefix + name] for name in TARIFF_FIELDS})
    return PricingPlan(
        row[prefix + "id"],
        row[prefix + "city_id"],
        row[prefix + "kind"],
        tariff,
        row[prefix + "deposit_minor"],
        row[prefix + "deposit_waiver_score"],
    )


def joined_plan(row: RowMapping | dict[str, Any]) -> PricingPlan | None:
    """The plan of `PLAN_COLUMNS` in a row joined on `CURRENT_PLAN_OF_ASSET`."""
    if row[f"{PLAN_PREFIX}id"] is None:
        return None
    return plan_from_row(row, PLAN_PREFIX)
