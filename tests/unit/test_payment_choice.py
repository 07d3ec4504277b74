"""Which gateway a payment goes through in a city, and what an operator may choose."""

import pytest

from rental.domain.cities import City
from rental.domain.errors import InvalidInput
from rental.domain.payment_choice import checked_choice, chosen_gateway, gateway_offer

CONFIGURED = {"sandbox", "stripe", "alipay"}


def city(gateways=(), default=None) -> City:
    return City("x1", "X", "UTC", "EUR", "en", 0.0, 0.0, None, None, gateways, default)


def test_a_city_without_a_choice_offers_the_platforms_default():
    offer = gateway_offer(city(), CONFIGURED, "sandbox")
    assert (offer.gateways, offer.default) == (("sandbox",), "sandbox")
    assert gateway_offer(None, CONFIGURED, "sandbox").gateways == ("sandbox",)


def test_a_gateway_no_longer_configured_is_no_longer_offered():
    offer = gateway_offer(city(("wechatpay", "stripe"), "wechatpay"), CONFIGURED, "sandbox")
    assert (offer.gateways, offer.default) == (("stripe",), "stripe")


def test_the_rider_gets_the_gateway_asked_for_or_the_default_and_never_another():
    offer = gateway_offer(city(("stripe", "alipay"), "alipay"), CONFIGURED, "sandbox")
    assert chosen_gateway(offer, None) == "alipay"
    assert chosen_gateway(offer, "stripe") == "stripe"
    with pytest.raises(InvalidInput) as refused:
        chosen_gateway(offer, "sandbox")
    assert refused.value.code == "gateway_not_offered" and "sandbox" in refused.value.message


@pytest.mark.parametrize(
    ("gateways", "default", "code"),
    [
        ((), None, "invalid_gateways"),
        (("stripe", "stripe"), None, "invalid_gateways"),
        (("stripe", "paypal"), None, "gateway_not_configured"),
        (("stripe",), "alipay", "default_not_offered"),
    ],
)
def test_an_operators_choice_is_checked(gateways, default, code):
    with pytest.raises(InvalidInput) as refused:
        checked_choice(gateways, default, CONFIGURED)
    assert refused.value.code == code


def test_the_first_gateway_is_the_default_unless_one_is_named():
    assert checked_choice(["alipay", "stripe"], None, CONFIGURED) == (
        ("alipay", "stripe"),
        "alipay",
    )
    assert checked_choice(["alipay", "stripe"], "stripe", CONFIGURED)[1] == "stripe"
