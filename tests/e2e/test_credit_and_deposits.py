"""Deposits per plan, waived by a good credit score; the score explained to the rider."""

from rental.services import accounts
from tests.helpers import CITY

WITH_DEPOSIT = {
    "rate_per_interval_minor": 150,
    "interval_seconds": 1800,
    "deposit_minor": 29900,
    "deposit_waiver_score": 650,
}


def set_score(system, rider, score):
    with system.platform.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE users SET credit_score = %(s)s WHERE id = %(id)s", {"s": score, "id": rider.id}
        )


def test_a_rider_below_the_waiver_score_needs_the_deposit_first(system):
    code, _ = system.bike()
    published = system.put(
        f"/api/v1/ops/pricing-plans/{CITY}/bike", WITH_DEPOSIT, system.operator()
    )
    assert published.status_code == 201, published.text
    rider = system.rider()
    quote = system.get(f"/api/v1/assets/{code}/quote", rider).json()
    assert quote["deposit_due_minor"] == 29900
    refused = system.scan(rider, code)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "deposit_required")
    assert "299.00 CNY" in refused.json()["error"]["message"]
    assert "650" in refused.json()["error"]["message"]


def test_a_good_credit_score_waives_the_deposit(system):
    code, _ = system.bike()
    published = system.put(
        f"/api/v1/ops/pricing-plans/{CITY}/bike", WITH_DEPOSIT, system.operator()
    )
    assert published.status_code == 201, published.text
    rider = system.rider()
    set_score(system, rider, 700)
    assert system.get(f"/api/v1/assets/{code}/quote", rider).json()["deposit_due_minor"] == 0
    assert system.scan(rider, code).status_code == 202


def test_the_score_moves_with_behaviour_and_says_why(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=100)

    def ride() -> None:
        rental_id = system.scan(rider, code).json()["id"]
        assert system.rental(rider, rental_id, wait=5)["state"] == "active"
        lock.close()
        system.wait_state(rider, rental_id, "ended")

    ride()  # 1.50 from a wallet of 1.00: 0.50 owed
    accounts.grant_promotion(system.platform.uow(), rider.id, "CNY", 500, "promo:more")
    ride()

    credit = system.get("/api/v1/me/credit", rider).json()
    oldest_first = [(e["reason"], e["delta"]) for e in reversed(credit["history"])]
    assert oldest_first == [("unpaid_fare", -15), ("timely_payment", 5), ("clean_ride", 2)]
    assert credit["score"] == credit["history"][0]["score_after"] == 600 - 15 + 5 + 2
    assert all(event["explanation"] for event in credit["history"])


def test_operators_record_confirmed_damage_once(system):
    rider = system.rider()
    operator = system.operator()
    path = f"/api/v1/ops/riders/{rider.id}/credit-events"
    body = {"reason": "damage", "reference": "damage-report-17"}
    assert system.post(path, body, operator).json()["score"] == 570
    assert system.post(path, body, operator).json()["score"] == 570  # the same report again
    assert system.post(path, {**body, "reason": "speeding"}, operator).status_code == 400
    assert system.post(path, body, rider).status_code == 403
    [event] = system.get("/api/v1/me/credit", rider).json()["history"]
    assert (event["reason"], event["delta"]) == ("damage", -30)
    assert "Damage" in event["explanation"]
