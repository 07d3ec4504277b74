"""Ring the bike, end to end through the real broker: the rider holding or riding a bike
rings it from the API and the app (both languages, on a phone's screen); the simulated lock
sounds its bell only for a signed, fresh `ring` (docs/lock-protocol.md §4.4) and answers
`rang`, which the platform stores with the command's id and acknowledges; anyone else is
refused, and ringing is rate limited."""

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from rental.adapters.locks.protocol import Channel, Command, LockTopic, Op, encode_command
from rental.adapters.tables import lock_events
from tests.browser import Tab
from tests.e2e.test_rate_limits import assert_rate_limited, limited  # noqa: F401 (a fixture)
from tests.e2e.test_rider_app import signed_in
from tests.helpers import eventually, ms


def hold(system, rider, code):
    answer = system.post(
        "/api/v1/reservations", {"code": code, "idempotency_key": uuid.uuid4().hex}, rider
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def stored_rings(system, lock_id):
    """The `rang` events the platform stored for a lock: their command ids."""
    query = select(lock_events.c.cmd_id).where(
        lock_events.c.lock_id == lock_id, lock_events.c.type == "rang"
    )
    with system.platform.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def test_the_rider_holding_a_bike_rings_it_and_the_lock_answers_that_it_rang(system):
    code, lock = system.bike()
    rider = system.rider()
    held = hold(system, rider, code)

    answer = system.post(f"/api/v1/vehicles/{held['asset_id']}/ring", None, rider)

    assert answer.status_code == 202, answer.text
    command_id = answer.json()["command_id"]
    eventually(lambda: [cmd for cmd, _ in lock.logic.rings] == [command_id], what="the bell")
    # Its answer stored with the command's id, and acknowledged (the outbox is empty again).
    eventually(lambda: stored_rings(system, lock.lock_id) == [command_id], what="`rang` kept")
    eventually(lambda: lock.outbox_size == 0, what="`rang` acknowledged")
    assert lock.logic.locked and lock.logic.rejected == []  # a bell opens nothing


def test_nobody_but_the_bikes_rider_can_ring_it(system):
    code, lock = system.bike()
    free_code, free_lock = system.bike()
    rider, stranger = system.rider(), system.rider()
    held = hold(system, rider, code)
    free_id = hold(system, system.rider(), free_code)["asset_id"]

    for asset_id in (held["asset_id"], free_id):
        refused = system.post(f"/api/v1/vehicles/{asset_id}/ring", None, stranger)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "not_your_vehicle"
    unknown = system.post(f"/api/v1/vehicles/{uuid.uuid4()}/ring", None, rider)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "asset_not_found")
    malformed = system.post("/api/v1/vehicles/not-an-id/ring", None, rider)
    assert malformed.status_code in (400, 404, 422)
    anonymous = system.post(f"/api/v1/vehicles/{held['asset_id']}/ring")
    assert anonymous.status_code == 401
    assert lock.logic.rings == [] and free_lock.logic.rings == []


def test_a_lock_refuses_a_ring_that_is_forged_or_stale_through_the_broker(system):
    """The simulated lock is reached the way the platform reaches it, by a command on its
    topic: one signed with another key, and one past its expiry, ring nothing."""
    _, lock = system.bike()
    now = ms(system.platform.now())
    forged = Command(lock.lock_id, "forged-1", Op.RING, "", now, now + 10_000)
    stale = Command(lock.lock_id, "stale-1", Op.RING, "", now - 20_000, now - 10_000)
    client = system.platform.mqtt()
    topic = str(LockTopic(lock.lock_id, Channel.CMD))
    client.publish(topic, encode_command(forged, b"x" * 32), qos=1)
    client.publish(topic, encode_command(stale, lock.logic.signing_key), qos=1)

    eventually(lambda: len(lock.logic.rejected) == 2, what="both refused")
    assert sorted(lock.logic.rejected) == ["bad_signature", "expired"]
    assert lock.logic.rings == []


def test_ringing_is_rate_limited_per_rider(system, limited):  # noqa: F811 (the fixture)
    api = limited(RATE_LIMIT_RINGS="2/minute")
    code, lock = system.bike()
    rider = system.rider()
    asset_id = hold(system, rider, code)["asset_id"]

    answers = [api.post(f"/api/v1/vehicles/{asset_id}/ring", None, rider) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [202, 202]
    assert_rate_limited(answers[2])
    eventually(lambda: len(lock.logic.rings) == 2, what="two rings")


def test_a_rider_rings_the_held_bike_from_the_app_in_english(system, phone):
    code, lock = system.bike()
    signed_in(phone, system)
    page = phone.page
    page.click(f".vehicle-marker[title='{code}']")
    page.click("#vehicle button:has-text('Hold it for me')")

    page.click("#ring")

    expect(page.locator("#ring-status")).to_have_text("It is ringing now: listen for the bell.")
    eventually(lambda: len(lock.logic.rings) == 1, what="the bell")
    phone.screenshot("app-ring-hold")
    assert phone.problems == []


def test_a_rider_rings_the_bike_during_a_ride_in_chinese(system, browser):
    code, lock = system.bike()
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        signed_in(phone, system)
        page = phone.page
        page.goto(f"{system.url}/app/#/unlock/{code}")
        page.click("#unlock")
        page.wait_for_url(re.compile(r"#/trip/"))

        page.click("#ring")

        ringing = "车铃正在响，请留意铃声。"  # noqa: RUF001 (Chinese punctuation)
        expect(page.locator("#ring-status")).to_have_text(ringing)
        eventually(lambda: len(lock.logic.rings) == 1, what="the bell")
        assert not lock.logic.locked and phone.problems == []
    finally:
        phone.close()
