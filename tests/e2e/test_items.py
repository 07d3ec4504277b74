"""A power bank through every real part: rented at one cabinet, returned at another."""

import uuid
from datetime import datetime

from tests.helpers import CITY, eventually

PRICE = {
    "rate_per_interval_minor": 200,
    "interval_seconds": 3600,
    "free_seconds": 0,
    "daily_cap_minor": 2000,
    "replacement_price_minor": 9900,
}


def seen_since(system, lock_id, moment):
    with system.platform.uow() as uow:
        lock = uow.locks.get(lock_id)
    return lock.last_seen_at > datetime.fromisoformat(moment)


def test_a_power_bank_rented_at_one_cabinet_is_returned_at_another(system):
    code = f"PB{uuid.uuid4().hex[:6].upper()}"
    station = system.cabinet("power_bank", {2: code})
    elsewhere = system.cabinet("power_bank", {})
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/power_bank", PRICE, system.operator()).ok
    rider = system.rider(credit_minor=1000)

    rental_id = system.scan(rider, code).json()["id"]
    active = system.rental(rider, rental_id, wait=5)

    assert active["state"] == "active"
    assert station.logic.slots[2] is None  # the latch let it go
    # The cabinet reports its (closed) latch right after the release: that ends no rental.
    eventually(lambda: seen_since(system, station.lock_id, active["started_at"]), what="report")
    assert system.rental(rider, rental_id)["state"] == "active"
    again = system.scan(system.rider(), code)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "item_not_docked")

    slot = elsewhere.take_back(code)
    ended = system.wait_state(rider, rental_id, "ended")

    assert ended["fare"] == {"amount_minor": 200, "currency": "CNY"}
    assert ended["parking"]["outcome"] == "ok"
    assert ended["parking"]["message"] == f"Returned to cabinet {elsewhere.lock_id}, slot {slot}."
    assert system.balance(rider) == 800
    fleet = system.get(f"/api/v1/ops/assets?city_id={CITY}", system.operator()).json()["assets"]
    docked = next(asset for asset in fleet if asset["code"] == code)
    assert docked["cabinet"] == {"id": elsewhere.lock_id, "slot": slot}
    assert docked["available"] is True


def test_a_cabinet_with_the_slot_found_empty_fails_the_rental_and_charges_nothing(system):
    code = f"PB{uuid.uuid4().hex[:6].upper()}"
    station = system.cabinet("power_bank", {1: code})
    assert system.put(f"/api/v1/ops/pricing-plans/{CITY}/power_bank", PRICE, system.operator()).ok
    station.logic.slots[1] = None  # someone took it by force: the slot is empty
    rider = system.rider(credit_minor=1000)

    failed = system.rental(rider, system.scan(rider, code).json()["id"], wait=5)

    assert (failed["state"], failed["failure_reason"]) == ("failed", "rejected")
    assert station.logic.rejected == ["slot_empty"]
    assert system.balance(rider) == 1000
