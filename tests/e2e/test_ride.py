"""A ride through every real part: HTTP, PostgreSQL/PostGIS, the broker, lockctl, a lock."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import eventually

ROUTE = [[121.470, 31.230], [121.474, 31.232], [121.478, 31.236], [121.482, 31.238]]


def test_a_rider_scans_rides_and_pays_for_the_trip(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)

    scanned = system.scan(rider, code)
    assert scanned.status_code == 202
    assert scanned.json()["state"] == "unlocking"
    rental_id = scanned.json()["id"]

    active = system.rental(rider, rental_id, wait=5)
    assert active["state"] == "active"
    assert active["started_at"] is not None
    assert not lock.logic.locked

    lock.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")

    assert ended["fare"] == {"amount_minor": 150, "currency": "CNY"}
    assert 1000 < ended["distance_m"] < 1800
    assert system.balance(rider) == 1000 - 150
    me = system.get("/api/v1/me", rider).json()
    assert me["wallets"][0]["balance_minor"] == 850
    trace = system.get(f"/api/v1/rentals/{rental_id}/trace", rider).json()
    assert trace["geometry"]["type"] == "LineString"
    assert trace["geometry"]["coordinates"][0] == ROUTE[0]
    assert [r["id"] for r in system.get("/api/v1/rentals", rider).json()["rentals"]] == [rental_id]


def scan_waiting(system, rider, code, wait):
    body = {"qr": f"https://ride.example/q/{code}", "idempotency_key": uuid.uuid4().hex}
    return system.post(f"/api/v1/rentals?wait={wait}", body, rider)


def test_a_scan_that_waits_is_answered_once_the_lock_has_opened(system):
    code, lock = system.bike(unlock_delay_ms=300)  # opens after the scan is stored
    rider = system.rider(credit_minor=1000)

    answer = scan_waiting(system, rider, code, wait=5)

    assert answer.status_code == 202
    assert answer.json()["state"] == "active"
    assert answer.json()["started_at"] is not None
    assert not lock.logic.locked


def test_a_scan_waits_no_longer_than_asked_for_a_lock_that_does_not_answer(system):
    code, _ = system.bike(never_confirm=True)
    rider = system.rider(credit_minor=1000)

    began = time.monotonic()
    answer = scan_waiting(system, rider, code, wait=0.5)

    assert answer.status_code == 202
    assert answer.json()["state"] == "unlocking"
    assert 0.5 <= time.monotonic() - began < 5


def test_the_rider_is_not_charged_when_the_lock_never_confirms(system):
    code, lock = system.bike(never_confirm=True)
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]

    failed = system.wait_state(rider, rental_id, "failed", timeout=10)

    assert failed["failure_reason"] == "timeout"
    assert failed["fare"] is None
    assert system.balance(rider) == 1000
    # The bike is free again for the next scan.
    lock.logic.faults.never_confirm = False
    retry = system.scan(rider, code)
    assert system.rental(rider, retry.json()["id"], wait=5)["state"] == "active"


def test_an_offline_lock_fails_at_once(system):
    code, lock = system.bike()
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    rider = system.rider()

    started = time.monotonic()
    scanned = system.scan(rider, code)
    elapsed = time.monotonic() - started

    assert scanned.status_code == 202
    assert scanned.json()["state"] == "failed"
    assert scanned.json()["failure_reason"] == "lock_offline"
    assert elapsed < 1.0
    assert lock.logic.locked


def test_a_lock_that_refuses_fails_the_rental_with_nothing_charged(system):
    code, _ = system.bike(reject_with="jammed")
    rider = system.rider(credit_minor=500)
    rental_id = system.scan(rider, code).json()["id"]
    failed = system.rental(rider, rental_id, wait=5)
    assert (failed["state"], failed["failure_reason"]) == ("failed", "rejected")
    assert system.balance(rider) == 500


def test_duplicate_lock_events_do_not_charge_twice(system):
    code, lock = system.bike(duplicate_events=True)
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    time.sleep(0.3)  # let the duplicate arrive too
    assert system.balance(rider) == 850


def test_two_riders_scanning_one_bike_at_once_exactly_one_gets_it(system):
    code, _ = system.bike()
    riders = [system.rider() for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda rider: system.scan(rider, code), riders))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202, 409, 409, 409, 409, 409]
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    assert {body["error"]["code"] for body in refused} == {"asset_in_use"}


def test_a_repeated_scan_with_the_same_key_returns_the_first_rental(system):
    code, _ = system.bike()
    rider = system.rider()
    first = system.scan(rider, code, key="scan-0001-abcdef")
    again = system.scan(rider, code, key="scan-0001-abcdef")
    assert first.json()["id"] == again.json()["id"]
    assert len(system.get("/api/v1/rentals", rider).json()["rentals"]) == 1


def test_a_rider_cannot_hold_two_bikes(system):
    first_code, _ = system.bike()
    second_code, _ = system.bike()
    rider = system.rider()
    rental_id = system.scan(rider, first_code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    second = system.scan(rider, second_code)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "rental_in_progress"


def test_a_lock_that_dies_mid_ride_ends_the_trip_when_it_comes_back(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    assert system.rental(rider, rental_id)["state"] == "active"
    lock.go_online()
    lock.close()
    ended = system.wait_state(rider, rental_id, "ended")
    assert ended["fare"]["amount_minor"] == 150


def test_a_restarted_simulator_is_not_mistaken_for_repeats_of_its_earlier_run(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    first = system.scan(rider, code).json()["id"]
    assert system.rental(rider, first, wait=5)["state"] == "active"
    lock.close()
    system.wait_state(rider, first, "ended")

    # The same lock in a new simulator process: same id and secrets, fresh memory.
    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)
    again = type(lock)(lock.secrets, system.broker)
    system.locks.append(again)
    assert again.logic.boot > lock.logic.boot
    again.go_online()
    system.wait_presence(lock.lock_id, online=True)
    second = system.scan(rider, code).json()["id"]
    assert system.rental(rider, second, wait=5)["state"] == "active"
    again.ride([tuple(point) for point in ROUTE], interval_s=0.05)
    again.close()
    assert system.wait_state(rider, second, "ended")["distance_m"] > 1000


def test_the_trace_grows_while_the_trip_runs(system):
    code, lock = system.bike()
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    assert system.rental(rider, rental_id, wait=5)["state"] == "active"

    lock.ride([tuple(point) for point in ROUTE[:3]], interval_s=0.05)
    lock.wait_for_ride()

    def path_so_far() -> bool:
        live = system.get(f"/api/v1/rentals/{rental_id}/trace", rider).json()
        return bool(live["geometry"]) and len(live["geometry"]["coordinates"]) == 3

    eventually(path_so_far, what="three points on the live trace")
    live = system.get(f"/api/v1/rentals/{rental_id}/trace", rider).json()
    assert live["properties"]["state"] == "active"
    assert 800 < live["properties"]["distance_m"] < 1100
    assert system.get(f"/api/v1/rentals/{rental_id}/trace", system.rider()).status_code == 404
