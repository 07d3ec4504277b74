"""The operator's one list of what needs looking at, from a known city: which vehicles,
alerts, dead letters and payments are in it, in what order, and what stays out."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from rental.adapters.tables import assets, locks, payment_orders, refunds
from rental.domain.alerts import AlertKind
from rental.domain.fleet import ServicePolicy
from rental.services.attention import needing_attention
from tests.conftest import new_lock_id
from tests.helpers import CITY, make_bike, make_city, make_user

POLICY = ServicePolicy(low_battery_pct=15, silence=timedelta(minutes=35))


def bike(platform, *, online=True, battery=80, heard_ago=timedelta(minutes=1), in_service=True):
    lock_id = new_lock_id()
    _, asset = make_bike(platform, lock_id, online=online)
    now = datetime.now(UTC)
    with platform.uow() as uow:
        uow.locks.record_seen(lock_id, now - heard_ago, battery_pct=battery, lon=121.47, lat=31.23)
        heard = {"online": online, "last_seen_at": now - heard_ago}  # as if heard no later
        uow.connection.execute(update(locks).where(locks.c.id == lock_id).values(**heard))
        uow.connection.execute(
            update(assets).where(assets.c.id == asset.id).values(in_service=in_service)
        )
        uow.commit()
    return asset


def hanging_payments(platform, now):
    """An order pending an hour past its expiry, a refund asked two hours ago with no answer,
    and an order that expired only a minute ago (the gateway may still answer)."""
    rider = make_user(platform)
    orders = []
    with platform.uow() as uow:
        for expired in (timedelta(hours=1), timedelta(minutes=1)):
            order_id = uuid.uuid4()
            uow.connection.execute(
                insert(payment_orders).values(
                    id=order_id,
                    rider_id=rider.id,
                    purpose="top_up",
                    amount_minor=1000,
                    currency="CNY",
                    gateway="sandbox",
                    state="pending",
                    idempotency_key=uuid.uuid4().hex,
                    expires_at=now - expired,
                )
            )
            orders.append(order_id)
        refund_id = uuid.uuid4()
        uow.connection.execute(
            insert(refunds).values(
                id=refund_id,
                order_id=orders[1],
                rider_id=rider.id,
                amount_minor=500,
                state="processing",
                request_key=uuid.uuid4().hex,
                created_at=now - timedelta(hours=2),
            )
        )
        uow.commit()
    return orders[0], refund_id


def test_everything_an_operator_must_see_is_in_one_list_most_urgent_first(platform):
    make_city(platform)
    fine = bike(platform)
    offline = bike(platform, online=False, heard_ago=timedelta(minutes=5))
    silent = bike(platform, heard_ago=timedelta(hours=2))
    flat = bike(platform, battery=9)
    bike(platform, online=False, in_service=False)  # retired from service: nobody waits for it
    now = datetime.now(UTC)
    with platform.uow() as uow:
        uow.alerts.open(AlertKind.LATCH_OPEN_WITHOUT_RENTAL, fine.lock_id, "latch open", now)
        letter = uow.dead_letters.add("locks/X/events", b"{}", "bad signature", now)
        uow.commit()
    order_id, refund_id = hanging_payments(platform, now)

    found = needing_attention(platform.uow(), CITY, now, POLICY)

    assert [(item.kind.value, item.subject) for item in found] == [
        ("latch_open_without_rental", fine.code),
        ("lock_offline", silent.code),  # heard from longest ago first
        ("lock_offline", offline.code),
        ("dead_letter", str(letter)),
        ("stuck_payment", str(order_id)),
        ("stuck_refund", str(refund_id)),
        ("low_battery", flat.code),
    ]
    assert "online but silent" in found[1].detail and "offline" in found[2].detail
    assert found[-1].detail == "battery 9% (below 15%)"
    assert (found[1].lon, found[1].lat) == (121.47, 31.23)


def test_another_citys_vehicles_and_alerts_stay_out_of_the_list(platform):
    make_city(platform)
    make_city(platform, "othercity")
    lock_id = new_lock_id()
    make_bike(platform, lock_id, online=False, city="othercity")
    now = datetime.now(UTC)
    with platform.uow() as uow:
        uow.alerts.open(AlertKind.LATCH_OPEN_WITHOUT_RENTAL, lock_id, "latch open", now)
        uow.commit()

    assert needing_attention(platform.uow(), CITY, now, POLICY) == []
    there = needing_attention(platform.uow(), "othercity", now, POLICY)
    assert [item.kind.value for item in there] == ["latch_open_without_rental", "lock_offline"]
