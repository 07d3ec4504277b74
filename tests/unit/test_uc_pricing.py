"""Operators publish prices and deposits; riders see the price, the deposit still due and
why an asset cannot be taken before they scan it, in memory."""

import uuid
from datetime import datetime, timedelta

import pytest

from rental.domain.errors import NotFound
from rental.domain.fleet import Asset, AssetKind, ServicePolicy, UnavailableReason
from rental.domain.ledger import AccountKind, AccountRef, Posting, rider_account
from rental.domain.maintenance import DamageCategory
from rental.domain.riders import User
from rental.services import maintenance, pricing, reservations
from rental.services.commands.maintenance import ReportDamage
from rental.services.commands.money import PlanPrices, PublishPricingPlan
from rental.services.commands.rides import QuoteAsset, Reserve
from tests.unit.fakes.world import BIKE_PRICE, CITY, World

POLICY = ServicePolicy()
PRICES = PlanPrices(
    unlock_fee_minor=200,
    rate_per_interval_minor=100,
    interval_seconds=900,
    free_seconds=120,
    daily_cap_minor=3000,
    reservation_per_minute_minor=20,
    out_of_zone_fee_minor=1000,
    replacement_price_minor=None,
    deposit_minor=19_900,
    deposit_waiver_score=700,
)


@pytest.fixture
def world() -> World:
    return World()


def quote(world: World, rider: User, asset: Asset, now: datetime | None = None) -> pricing.Quote:
    command = QuoteAsset(rider.id, asset.code)
    return pricing.quote(world.uow(), command, now or world.now, POLICY)


def test_a_published_plan_is_priced_in_the_citys_currency_and_replaces_the_last(world):
    plan = pricing.publish_pricing_plan(
        world.uow(), PublishPricingPlan(CITY, AssetKind.BIKE, PRICES)
    )
    assert plan.tariff.currency == "CNY"
    assert (plan.tariff.unlock_fee_minor, plan.tariff.daily_cap_minor) == (200, 3000)
    assert (plan.deposit_minor, plan.deposit_waiver_score) == (19_900, 700)
    assert pricing.current_pricing_plans(world.uow(), CITY) == [plan]
    world.add_city("london", currency="GBP")
    ebike = pricing.publish_pricing_plan(
        world.uow(), PublishPricingPlan("london", AssetKind.EBIKE, PRICES)
    )
    assert ebike.tariff.currency == "GBP" and ebike.kind == "ebike"


def test_prices_are_for_cities_that_exist(world):
    for call in (
        lambda: pricing.publish_pricing_plan(
            world.uow(), PublishPricingPlan("nowhere", AssetKind.BIKE, PRICES)
        ),
        lambda: pricing.current_pricing_plans(world.uow(), "nowhere"),
    ):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "city_not_found"


def test_a_rental_keeps_the_price_it_started_with(world):
    rider = world.rider(credit_minor=1000)
    rental = world.scan(rider, world.bike())
    pricing.publish_pricing_plan(world.uow(), PublishPricingPlan(CITY, AssetKind.BIKE, PRICES))
    with world.uow() as unit:
        stored = unit.rentals.get(rental.id)
    assert stored is not None and stored.tariff == BIKE_PRICE


def test_a_quote_gives_the_price_of_an_available_asset(world):
    bike, rider = world.bike(), world.rider()
    given = quote(world, rider, bike)
    assert (given.code, given.kind, given.available, given.unavailable) == (
        bike.code,
        "bike",
        True,
        [],
    )
    assert given.pricing_plan is not None and given.pricing_plan.tariff == BIKE_PRICE
    assert given.deposit_due_minor == 0


def test_a_quote_says_why_not_and_which_price_is_missing(world):
    bike = world.bike(battery=POLICY.low_battery_pct - 1, locked=False)
    reporter = world.rider_who_rode(bike)
    report = ReportDamage(reporter.id, bike.code, DamageCategory.LIGHTS, None, None)
    maintenance.report_damage(world.uow(), report, world.now)
    later = world.now + POLICY.silence + timedelta(minutes=1)

    given = quote(world, world.rider(), bike, later)

    assert not given.available
    assert given.unavailable == [
        UnavailableReason.DAMAGED.value,
        UnavailableReason.LOW_BATTERY.value,
        UnavailableReason.OFFLINE.value,
        UnavailableReason.LATCH_OPEN.value,
    ]
    unpriced = world.bike(kind=AssetKind.EBIKE)
    assert quote(world, reporter, unpriced).unavailable == ["no_price"]


def test_a_reservation_hides_the_asset_from_others_but_not_from_its_holder(world):
    bike, holder = world.bike(), world.rider()
    hold = Reserve(holder.id, bike.code, "hold-0001")
    reservations.reserve(world.uow(), hold, world.now, timedelta(minutes=15), POLICY)
    assert quote(world, holder, bike).available
    assert quote(world, world.rider(), bike).unavailable == [UnavailableReason.RESERVED.value]
    after = world.now + timedelta(minutes=16)  # ran out, not yet swept
    assert quote(world, world.rider(), bike, after).available


def test_a_quote_of_an_asset_in_use_or_with_its_latch_unknown(world):
    ridden, unheard = world.bike(), world.bike()
    world.scan(world.rider(credit_minor=1000), ridden)
    with world.uow() as unit:
        assert unheard.lock_id is not None
        unit.locks.mark_latch_unknown(unheard.lock_id, world.now)
        unit.commit()
    assert quote(world, world.rider(), ridden).unavailable == [UnavailableReason.IN_USE.value]
    assert quote(world, world.rider(), unheard).unavailable == [
        UnavailableReason.LATCH_UNKNOWN.value
    ]


@pytest.mark.parametrize(
    ("score", "held", "due"),
    [(600, 0, 19_900), (600, 5_000, 14_900), (699, 19_900, 0), (700, 0, 0), (950, 0, 0)],
    ids=["none held", "part held", "all held", "waived at the score", "waived above"],
)
def test_the_deposit_due_is_what_the_plan_asks_beyond_what_is_held_unless_waived(
    world, score, held, due
):
    pricing.publish_pricing_plan(world.uow(), PublishPricingPlan(CITY, AssetKind.BIKE, PRICES))
    rider = world.rider(score=score)
    if held:
        with world.uow() as unit:
            deposit = rider_account(AccountKind.RIDER_DEPOSIT, str(rider.id), "CNY")
            clearing = AccountRef(AccountKind.GATEWAY_CLEARING, "CNY")
            unit.ledger.post(
                "deposit", f"d:{held}", [Posting(clearing, -held), Posting(deposit, held)]
            )
            unit.commit()
    given = quote(world, rider, world.bike())
    assert given.deposit_due_minor == due
    assert given.available  # a deposit due is the scan's to refuse, not the quote's


def test_an_unknown_asset_has_no_quote(world):
    with pytest.raises(NotFound) as missing:
        pricing.quote(world.uow(), QuoteAsset(uuid.uuid4(), "BK-gone"), world.now, POLICY)
    assert missing.value.code == "asset_not_found"
