"""Operators set prices and deposits; riders see them before unlocking."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rental.domain.credit import HIGHEST_SCORE, LOWEST_SCORE, deposit_waived
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.fleet import (
    AssetKind,
    Condition,
    ServicePolicy,
    asset_code_from_qr,
    is_low,
    unavailable_because,
)
from rental.domain.pricing import PricingPlan, Tariff, format_amount
from rental.services.read_models import ScanTarget
from rental.services.unit_of_work import UnitOfWork

PRICE_FIELDS = {
    "unlock_fee_minor": (0, 100_000),
    "rate_per_interval_minor": (0, 100_000),
    "interval_seconds": (60, 24 * 3600),
    "free_seconds": (0, 24 * 3600),
    "daily_cap_minor": (0, 1_000_000),
    "reservation_per_minute_minor": (0, 10_000),
    "out_of_zone_fee_minor": (0, 100_000),
    "replacement_price_minor": (1, 10_000_000),
    "deposit_minor": (0, 1_000_000),
    "deposit_waiver_score": (LOWEST_SCORE, HIGHEST_SCORE),
}
DEFAULTS = {
    "unlock_fee_minor": 0,
    "free_seconds": 0,
    "reservation_per_minute_minor": 0,
    "out_of_zone_fee_minor": 0,
    "deposit_minor": 0,
}
# null: no cap, never waived, never sold off
NULLABLE = {"daily_cap_minor", "deposit_waiver_score", "replacement_price_minor"}


def _checked_prices(body: dict[str, Any]) -> dict[str, int | None]:
    values: dict[str, int | None] = {}
    for name, (low, high) in PRICE_FIELDS.items():
        value = body.get(name, DEFAULTS.get(name))
        if value is None and name in NULLABLE:
            values[name] = None
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(f"{name} must be an integer from {low} to {high}", "invalid_price")
        values[name] = value
    return values


def publish_plan(uow: UnitOfWork, city_id: str, kind: str, body: dict[str, Any]) -> PricingPlan:
    try:
        asset_kind = AssetKind(kind)
    except ValueError:
        raise NotFound(f"no asset kind {kind}", "kind_not_found") from None
    prices = _checked_prices(body)
    deposit = prices.pop("deposit_minor") or 0
    waiver = prices.pop("deposit_waiver_score")
    with uow:
        currency = uow.cities.currency_of(city_id)
        if currency is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        tariff = Tariff(currency=currency, **prices)  # type: ignore[arg-type]
        plan = uow.pricing_plans.publish(city_id, asset_kind.value, tariff, deposit, waiver)
        uow.commit()
    return plan


def current_plans(uow: UnitOfWork, city_id: str) -> list[PricingPlan]:
    with uow:
        if uow.cities.currency_of(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        return uow.pricing_plans.current(city_id)


@dataclass(frozen=True)
class Quote:
    code: str
    kind: str
    available: bool
    plan: PricingPlan | None
    deposit_due_minor: int  # what this rider must still pay as deposit before riding
    unavailable: list[str]  # why not, when not available: fleet.Unavailable, or no_price


def quote(
    uow: UnitOfWork, qr: str, rider_id: uuid.UUID, now: datetime, policy: ServicePolicy
) -> Quote:
    """The price this rider would pay for the asset now, and whether it can be taken."""
    code = asset_code_from_qr(qr)
    with uow:
        target = uow.assets.for_scan(code, rider_id)
        if target is None:
            raise NotFound(f"no asset with code {code}", "asset_not_found")
        held = (
            uow.reservations.get(target.held_reservation_id) if target.held_reservation_id else None
        )
    lock = target.lock
    condition = Condition(
        target.asset.in_service,
        target.open_damage_reports,
        lock.battery_pct,
        lock.online,
        lock.last_seen_at,
        target.taken,
        held is not None and held.is_live(now) and held.rider_id != rider_id,
        lock.locked is False,
    )
    why_not = [reason.value for reason in unavailable_because(condition, now, policy)]
    if target.plan is None:
        why_not.append("no_price")
    return Quote(
        code, target.asset.kind.value, not why_not, target.plan, deposit_due(target), why_not
    )


def deposit_due(target: ScanTarget) -> int:
    """The deposit still to pay before riding this asset: 0 when held or waived."""
    plan = target.plan
    if plan is None or deposit_waived(target.rider_credit_score, plan.deposit_waiver_score):
        return 0
    return max(0, plan.deposit_minor - target.rider_deposit_minor)


def check_rentable(target: ScanTarget, policy: ServicePolicy) -> PricingPlan:
    """What a scan and a reservation both require of the asset and the rider; returns the
    plan the asset is priced by."""
    asset, plan = target.asset, target.plan
    if not asset.in_service or target.open_damage_reports:
        raise Conflict("this asset is out of service", "asset_out_of_service")
    if target.lock.locked is False and not target.taken:
        # Open with no rental (a late unlock, a forced latch): staff must look at it first.
        raise Conflict("this vehicle's lock is open; staff have been told", "latch_open")
    if is_low(target.lock.battery_pct, policy):
        raise Conflict("this vehicle's battery is too low to ride", "battery_low")
    if plan is None:
        raise Conflict("this asset has no price in its city yet", "no_pricing_plan")
    if target.rider_debt_minor > 0:
        owed = format_amount(target.rider_debt_minor, plan.tariff.currency)
        raise Conflict(f"settle your unpaid {owed} first", "debt_outstanding")
    due = deposit_due(target)
    if due > 0:
        waiver = plan.deposit_waiver_score
        hint = f" (a credit score of {waiver} waives it)" if waiver is not None else ""
        amount = format_amount(due, plan.tariff.currency)
        raise Conflict(f"a deposit of {amount} is needed first{hint}", "deposit_required")
    return plan
