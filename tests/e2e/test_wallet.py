"""The wallet through HTTP: a short wallet leaves debt, debt blocks the next ride."""

from rental.services import accounts


def ride(system, rider, code, lock):
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.close()
    return system.wait_state(rider, rental_id, "ended")


def test_a_ride_the_wallet_cannot_cover_leaves_debt_that_blocks_the_next_one(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=100)
    ended = ride(system, rider, code, lock)
    assert ended["fare"]["amount_minor"] == 150

    [wallet] = system.get("/api/v1/wallet", rider).json()["wallets"]
    assert (wallet["balance_minor"], wallet["debt_minor"]) == (0, 50)
    blocked = system.scan(rider, code)
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (409, "debt_outstanding")
    assert "0.50 CNY" in blocked.json()["error"]["message"]

    accounts.grant_promotion(system.platform.uow(), rider.id, "CNY", 200, f"promo:{rider.id}")
    [wallet] = system.get("/api/v1/wallet", rider).json()["wallets"]
    assert (wallet["balance_minor"], wallet["debt_minor"]) == (150, 0)
    assert system.scan(rider, code).status_code == 202


def test_the_rider_sees_each_movement_of_money(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    ride(system, rider, code, lock)
    postings = system.get("/api/v1/wallet/transactions", rider).json()["postings"]
    assert [(p["transaction_kind"], p["account"], p["amount_minor"]) for p in postings] == [
        ("fare", "rider_wallet", -150),
        ("promotion", "rider_wallet", 1000),
    ]
    assert system.get("/api/v1/wallet/transactions?limit=0", rider).status_code == 400


def test_operators_get_the_proof_that_the_books_balance(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=100)
    ride(system, rider, code, lock)
    report = system.get("/api/v1/ops/books", system.operator()).json()
    assert report["balanced"] is True
    totals = {(row["currency"], row["kind"]): row["total_minor"] for row in report["totals"]}
    assert totals[("CNY", "platform_revenue")] == 150
    assert totals[("CNY", "rider_receivable")] == -50
    assert sum(totals.values()) == 0
    assert system.get("/api/v1/ops/books", rider).status_code == 403
