"""Amounts in minor units read with each currency's ISO 4217 exponent: JPY 0, CNY and EUR 2,
KWD 3, in what riders, receipts and feeds see."""

import uuid

import pytest

from rental.api.gbfs_json import pricing_plan
from rental.domain.errors import InvalidInput
from rental.domain.money import checked_currency, format_amount, major_units
from rental.domain.pricing import PricingPlan, Tariff, describe


@pytest.mark.parametrize(
    ("minor", "currency", "text", "major"),
    [
        (130, "JPY", "130 JPY", 130),
        (150, "CNY", "1.50 CNY", 1.5),
        (5, "EUR", "0.05 EUR", 0.05),
        (1500, "KWD", "1.500 KWD", 1.5),
        (1, "KWD", "0.001 KWD", 0.001),
        (-50, "CNY", "-0.50 CNY", -0.5),
        (12345, "IDR", "123.45 IDR", 123.45),  # ISO says 2, though locales show whole rupiah
    ],
)
def test_amounts_are_read_with_the_currencys_exponent(minor, currency, text, major):
    assert format_amount(minor, currency) == text
    assert major_units(minor, currency) == major


@pytest.mark.parametrize("code", ["EURO", "eur", "XXX", "XAU", "", "ZZZ", None, 7, ["EUR"]])
def test_only_currencies_pass(code):
    with pytest.raises(InvalidInput) as refusal:
        checked_currency(code)
    assert refusal.value.code == "invalid_currency"


def plan_in(currency: str, unlock: int, rate: int) -> PricingPlan:
    tariff = Tariff(
        currency,
        unlock_fee_minor=unlock,
        rate_per_interval_minor=rate,
        interval_seconds=1800,
        daily_cap_minor=None,
    )
    return PricingPlan(uuid.uuid4(), "city", "bike", tariff)


@pytest.mark.parametrize(
    ("currency", "unlock", "rate", "price", "per_interval", "summary"),
    [
        ("JPY", 100, 130, 100, 130, "100 JPY to unlock, 130 JPY per 30 min"),
        ("CNY", 100, 150, 1.0, 1.5, "1.00 CNY to unlock, 1.50 CNY per 30 min"),
        ("KWD", 250, 1500, 0.25, 1.5, "0.250 KWD to unlock, 1.500 KWD per 30 min"),
    ],
)
def test_gbfs_prices_and_the_fare_text_use_the_exponent(
    currency, unlock, rate, price, per_interval, summary
):
    plan = plan_in(currency, unlock, rate)
    published = pricing_plan(plan)
    assert (published["price"], published["per_min_pricing"][0]["rate"]) == (price, per_interval)
    assert describe(plan.tariff) == summary
