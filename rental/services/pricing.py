"""Operators set prices and deposits; riders see them before unlocking."""

from dataclasses import asdict, dataclass
from datetime import datetime

from rental.domain.credit import deposit_waived
from rental.domain.errors import Conflict, NotFound
from rental.domain.fleet import Condition, ServicePolicy, is_low, unavailable_because
from rental.domain.money import format_amount
from rental.domain.pricing import PricingPlan, Tariff
from rental.services.commands.money import PublishPricingPlan
from rental.services.commands.rides import QuoteAsset
from rental.services.read_models import ScanTarget
from rental.services.unit_of_work import UnitOfWork


def publish_pricing_plan(uow: UnitOfWork, command: PublishPricingPlan) -> PricingPlan:
    prices = asdict(command.prices)
    deposit = prices.pop("deposit_minor")
    waiver = prices.pop("deposit_waiver_score")
    with uow:
        currency = uow.cities.currency_of(command.city_id)
        if currency is None:
            raise NotFound(f"no city {command.city_id}", "city_not_found")
        tariff = Tariff(currency=currency, **prices)
        plan = uow.pricing_plans.publish(
            command.city_id, command.kind.value, tariff, deposit, waiver
        )
        uow.commit()
    return plan


def current_pricing_plans(uow: UnitOfWork, city_id: str) -> list[PricingPlan]:
    with uow:
        if uow.cities.currency_of(city_id) is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        return uow.pricing_plans.current(city_id)


@dataclass(frozen=True)
class Quote:
    code: str
    kind: str
    available: bool
    pricing_plan: PricingPlan | None
    deposit_due_minor: int  # what this rider must still pay as deposit before riding
    unavailable: list[str]  # why not, when not available: an UnavailableReason, or no_price
    city_id: str


def quote(uow: UnitOfWork, command: QuoteAsset, now: datetime, policy: ServicePolicy) -> Quote:
    """The price this rider would pay for the asset now, and whether it can be taken."""
    code, rider_id = command.asset_code, command.rider_id
    with uow:
        target = uow.assets.for_scan(code, rider_id)
        if target is None:
            raise NotFound(f"no asset with code {code}", "asset_not_found")
        reservation = (
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
        reservation is not None and reservation.is_live(now) and reservation.rider_id != rider_id,
        lock.locked is False,
        lock.latch_unknown_since is not None,
    )
    why_not = [reason.value for reason in unavailable_because(condition, now, policy)]
    if target.pricing_plan is None:
        why_not.append("no_price")
    return Quote(
        code,
        target.asset.kind.value,
        not why_not,
        target.pricing_plan,
        deposit_due(target),
        why_not,
        target.asset.city_id,
    )


def deposit_due(target: ScanTarget) -> int:
    """The deposit still to pay before riding this asset: 0 when held or waived."""
    plan = target.pricing_plan
    if plan is None or deposit_waived(target.rider_credit_score, plan.deposit_waiver_score):
        return 0
    return max(0, plan.deposit_minor - target.rider_deposit_minor)


def check_rentable(target: ScanTarget, policy: ServicePolicy) -> PricingPlan:
    """What a scan and a reservation both require of the asset and the rider; returns the
    pricing plan the asset is priced by."""
    asset, plan = target.asset, target.pricing_plan
    if target.city_retired:
        raise Conflict(f"{asset.city_id} is no longer served", "city_retired")
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
