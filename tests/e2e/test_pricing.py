"""Prices per city and kind, seen before unlocking, fixed for the trip once it starts."""

from tests.helpers import CITY

DEARER = {"unlock_fee_minor": 100, "rate_per_interval_minor": 500, "interval_seconds": 900}


def test_the_rider_sees_the_price_before_unlocking(system):
    code, _ = system.bike()
    quote = system.get(f"/api/v1/assets/{code}/quote", system.rider()).json()
    assert quote["available"] is True
    assert quote["price"]["summary"] == "1.50 CNY per 30 min"
    assert quote["price"]["currency"] == "CNY"


def test_a_price_change_does_not_touch_a_trip_under_way(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"

    published = system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", DEARER, system.operator())
    assert published.status_code == 201
    assert (
        system.get(f"/api/v1/assets/{code}/quote", rider).json()["price"]["unlock_fee_minor"] == 100
    )

    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")
    assert ended["fare"]["amount_minor"] == 150
    assert ended["price"]["plan_id"] != published.json()["plan_id"]

    next_ride = system.scan(rider, code).json()
    assert next_ride["price"]["plan_id"] == published.json()["plan_id"]


def test_a_taken_bike_is_quoted_as_unavailable(system):
    code, _ = system.bike()
    rider = system.rider()
    system.rental(rider, system.scan(rider, code).json()["id"], wait=5)
    assert system.get(f"/api/v1/assets/{code}/quote", system.rider()).json()["available"] is False


def test_an_asset_without_a_price_cannot_be_rented(system):
    code, _ = system.bike()
    with system.platform.uow() as uow:
        uow.connection.exec_driver_sql("UPDATE pricing_plans SET retired_at = now()")
        uow.commit()
    answer = system.scan(system.rider(), code)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "no_pricing_plan")


def test_operators_see_current_plans_and_bad_prices_are_refused(system):
    system.bike()
    operator = system.operator()
    plans = system.get(f"/api/v1/ops/pricing-plans?city_id={CITY}", operator).json()["plans"]
    assert [(plan["kind"], plan["rate_per_interval_minor"]) for plan in plans] == [("bike", 150)]
    for body in (
        {**DEARER, "rate_per_interval_minor": -1},
        {**DEARER, "interval_seconds": 5},
        {**DEARER, "free_seconds": None},
        {**DEARER, "deposit_waiver_score": 10},
        {},
    ):
        answer = system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", body, operator)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_price")
    unknown = system.put(f"/api/v1/ops/pricing-plans/{CITY}/hoverboard", DEARER, operator)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "invalid_kind")
    rider_try = system.put(f"/api/v1/ops/pricing-plans/{CITY}/bike", DEARER, system.rider())
    assert rider_try.status_code == 403
