"""The fakes keep the rules of the SQL adapters that use cases rely on, and are complete
enough to run a ride from scan to fare in memory."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rental.adapters.locks.protocol import Event, EventType, Telemetry
from rental.adapters.locks.reports import event_reported, telemetry_reported
from rental.domain.cities import City
from rental.domain.errors import Conflict, DuplicateRequest, NotFound
from rental.domain.fleet import Asset, AssetKind, Lock, ServicePolicy, asset_code_from_qr
from rental.domain.ledger import AccountKind, AccountRef, Posting, UnbalancedTransaction
from rental.domain.mds import VehicleEvent
from rental.domain.pricing import Tariff
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.domain.rentals import FailureReason, Rental, RentalState
from rental.domain.riders import Role, User
from rental.domain.zones import Parking, Zone, ZoneKind, ZonesAt
from rental.services import accounts, assets, payments
from rental.services.commands.assets import RegisterVehicle
from rental.services.commands.money import GatewayNotification, StartTopUp
from rental.services.commands.rides import RequestUnlock
from rental.services.lock_events import handle_event
from rental.services.ports import (
    BrokerAccountsPort,
    LockCommands,
    PaymentGateway,
    PaymentGateways,
)
from rental.services.rentals import Unlocking, request_unlock
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.telemetry import handle_telemetry
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import books, wallet_summaries
from tests.unit.fakes import (
    CONFLICTS,
    IDEMPOTENCY_KEYS,
    FakeBrokerAccounts,
    FakePaymentGateway,
    FakeUnitOfWork,
    RecordingLockCommands,
    SentUnlock,
    Store,
    fake_uow_factory,
)

# The fakes satisfy the ports the use cases own (mypy checks these lines).
uow: UnitOfWork = FakeUnitOfWork()
channel: LockCommands = RecordingLockCommands()
broker: BrokerAccountsPort = FakeBrokerAccounts()
gateway: PaymentGateway = FakePaymentGateway()
gateways: PaymentGateways = {"fake": FakePaymentGateway(), "other": FakePaymentGateway("other")}

CITY = "fakecity"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PRICE = Tariff("CNY", unlock_fee_minor=100, rate_per_interval_minor=150, interval_seconds=1800)
# Around People's Square, Shanghai: (lon, lat).
HOME = (121.4737, 31.2304)
SERVICE_AREA = {
    "type": "Polygon",
    "coordinates": [
        [[121.40, 31.17], [121.55, 31.17], [121.55, 31.29], [121.40, 31.29], [121.40, 31.17]]
    ],
}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def store() -> Store:
    """A city priced for bikes, with its service area, and a lock heard from at START."""
    store = Store(clock=lambda: START)
    with FakeUnitOfWork(store) as unit:
        unit.cities.add(City(CITY, "Fake City", "Asia/Shanghai", "CNY", "en", *HOME))
        unit.pricing_plans.publish(CITY, "bike", PRICE)
        unit.zones.replace(CITY, [Zone(ZoneKind.SERVICE_AREA, "inner city", SERVICE_AREA)])
        unit.commit()
    return store


def add_bike(store: Store, lock_id: str) -> Asset:
    with FakeUnitOfWork(store) as unit:
        unit.locks.add(Lock(lock_id, b"k" * 32))
        unit.locks.record_presence(lock_id, True, 1, START)
        unit.locks.record_seen(
            lock_id, START, locked=True, battery_pct=80, lon=HOME[0], lat=HOME[1]
        )
        unit.commit()
    bike = RegisterVehicle(f"BK-{lock_id}", AssetKind.BIKE, CITY, lock_id)
    return assets.register_asset(FakeUnitOfWork(store), bike)


def add_rider(store: Store, credit_minor: int = 0) -> User:
    rider = User(uuid.uuid4(), f"1{uuid.uuid4().int % 10**10:010d}", "Rider", Role.RIDER, "-")
    with FakeUnitOfWork(store) as unit:
        unit.users.add(rider)
        unit.commit()
    if credit_minor:
        accounts.grant_promotion(FakeUnitOfWork(store), rider.id, "CNY", credit_minor, "welcome")
    return rider


def test_the_fakes_map_constraints_to_the_same_errors_as_the_sql_adapters():
    from rental.adapters import repositories  # imported here: SQLAlchemy is slow to load

    assert repositories._CONFLICTS == CONFLICTS
    assert repositories.IDEMPOTENCY_KEYS == IDEMPOTENCY_KEYS


def test_a_second_asset_with_the_same_code_is_a_conflict(store):
    add_bike(store, "L-one")
    copy = Asset(uuid.uuid4(), "BK-L-one", AssetKind.BIKE, CITY, None)
    with FakeUnitOfWork(store) as unit, pytest.raises(Conflict) as refused:
        unit.assets.add(copy)
    assert refused.value.code == "asset_exists"


def test_work_not_committed_is_rolled_back(store):
    unit = FakeUnitOfWork(store)
    with unit:
        unit.locks.add(Lock("L-kept", b"k"))
        unit.commit()
        unit.locks.add(Lock("L-dropped", b"k"))
        unit.notify(RENTAL_STATE_CHANNEL, "after the commit")
    with pytest.raises(RuntimeError), unit:
        unit.locks.add(Lock("L-failed", b"k"))
        raise RuntimeError("the use case failed")
    with unit:
        assert unit.locks.get("L-kept") is not None
        assert unit.locks.get("L-dropped") is None
        assert unit.locks.get("L-failed") is None
    assert unit.committed and unit.commits == 1
    assert unit.notified == [] and store.notifications == []


def test_a_repeated_idempotency_key_is_a_duplicate_request(store):
    asset = add_bike(store, "L-twice")
    rider = add_rider(store)
    rental = Rental(
        uuid.uuid4(), rider.id, asset.id, "L-twice", PRICE, RentalState.FAILED, START, "key-12345"
    )
    with FakeUnitOfWork(store) as unit:
        unit.rentals.add(rental)
        with pytest.raises(DuplicateRequest):
            unit.rentals.add(Rental(**{**vars(rental), "id": uuid.uuid4()}))


def test_the_ledger_books_only_balanced_postings_once_per_reference(store):
    rider = add_rider(store, credit_minor=500)
    wallet = AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id))
    revenue = AccountRef(AccountKind.PLATFORM_REVENUE, "CNY")
    with FakeUnitOfWork(store) as unit:
        with pytest.raises(UnbalancedTransaction):
            unit.ledger.post("fare", "fare:x", [Posting(wallet, -100), Posting(revenue, 99)])
        spend = [Posting(wallet, -100), Posting(revenue, 100)]
        assert unit.ledger.post("fare", "fare:x", spend)
        assert not unit.ledger.post("fare", "fare:x", spend)
        assert unit.ledger.balance(wallet) == 400
        assert unit.ledger.balance(revenue) == 100
        assert unit.ledger.postings_of("fare:x") == [
            ("rider_wallet", -100),
            ("platform_revenue", 100),
        ]
        unit.commit()
    summary = books(FakeUnitOfWork(store))
    assert summary.balanced and summary.accounts_out_of_step == 0


def test_the_current_plan_is_the_latest_published(store):
    add_bike(store, "L-priced")
    dearer = Tariff("CNY", 200, 300, 1800)
    with FakeUnitOfWork(store) as unit:
        plan = unit.pricing_plans.publish(CITY, "bike", dearer)
        assert [p.id for p in unit.pricing_plans.current(CITY)] == [plan.id]
        target = unit.assets.for_scan("BK-L-priced")
        assert target is not None and target.pricing_plan == plan


def test_a_lock_log_of_an_unknown_lock_is_not_found(store):
    with FakeUnitOfWork(store) as unit, pytest.raises(NotFound):
        unit.lock_log.record_event("L-nobody", 1, 1, "locked", None, {}, START)


def test_search_finds_only_bikes_riders_can_take(store):
    add_bike(store, "L-ready")
    add_bike(store, "L-flat")
    with FakeUnitOfWork(store) as unit:
        unit.locks.record_seen("L-flat", START, battery_pct=5)
        found = unit.vehicles.nearby(*HOME, 500, None, 10, START, ServicePolicy())
    assert [vehicle.code for vehicle in found] == ["BK-L-ready"]
    plan = found[0].pricing_plan
    assert found[0].distance_m == pytest.approx(0)
    assert plan is not None and plan.tariff.unlock_fee_minor == 100


def test_a_city_without_a_service_area_has_no_limit(store):
    with FakeUnitOfWork(store) as unit:
        outside = unit.zones.at_position(CITY, 0.0, 0.0)
        assert outside == ZonesAt(frozenset(), city_has_service_area=True)
        assert not outside.inside_service_area
        unit.zones.replace(CITY, [])
        anywhere = unit.zones.at_position(CITY, 0.0, 0.0)
        assert anywhere == ZonesAt(frozenset(), city_has_service_area=False)
        assert anywhere.inside_service_area


def test_a_top_up_is_paid_through_the_fake_gateway(store):
    rider = add_rider(store)
    pay = FakePaymentGateway()
    top_up = StartTopUp(rider.id, 500, "CNY", "topup-0001")
    order = payments.start_top_up(FakeUnitOfWork(store), pay, top_up, "https://x/notify", START)
    assert order.pay_url is not None and pay.orders[0][0].id == order.id
    headers, body = pay.notification(
        {
            "event": "payment.succeeded",
            "trade_no": order.trade_no,
            "reference": order.id,
            "amount_minor": 500,
            "currency": "CNY",
        }
    )
    notification = GatewayNotification(pay.name, headers, body)
    payments.handle_notification(FakeUnitOfWork(store), {pay.name: pay}, notification, START, 0)
    [wallet] = wallet_summaries(FakeUnitOfWork(store), rider.id, 0)
    assert wallet.balance_minor == 500


def test_an_unreachable_broker_fails_the_unlock_in_a_second_unit_of_work(store):
    add_bike(store, "L-cut")
    rider = add_rider(store)
    failing = RecordingLockCommands(fail=True)
    unit = FakeUnitOfWork(store)  # one unit of work, entered twice by the use case
    scan = RequestUnlock(rider.id, "BK-L-cut", "scan-00001")
    rental = request_unlock(unit, failing, scan, START, Unlocking(timedelta(seconds=30)))
    assert rental.failure_reason is FailureReason.LOCK_UNREACHABLE
    assert unit.notified == [(RENTAL_STATE_CHANNEL, str(rental.id))]


def test_a_ride_runs_from_scan_to_fare_in_memory(store):
    asset = add_bike(store, "L-ride")
    rider = add_rider(store, credit_minor=1000)
    uow = fake_uow_factory(store)
    locks = RecordingLockCommands()
    scanned = START + timedelta(minutes=1)

    scan = RequestUnlock(
        rider.id, asset_code_from_qr("https://x.example/q/BK-L-ride"), "scan-12345"
    )
    rental = request_unlock(uow(), locks, scan, scanned, Unlocking(timedelta(seconds=30)))
    assert rental.state is RentalState.UNLOCKING
    assert locks.sent == [
        SentUnlock("L-ride", rental.id, rental.unlock_command_id, None, rental.unlock_expires_at)
    ]

    opened = scanned + timedelta(seconds=5)
    event = Event(1, 2, ms(opened), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    receipt = handle_event(uow(), event_reported("L-ride", event, opened + timedelta(seconds=1)))
    assert receipt.first_time
    for seq, minutes, lon in ((3, 5, 121.4800), (4, 10, 121.4900)):
        at = opened + timedelta(minutes=minutes)
        fix = Telemetry(1, seq, ms(at), lon, 31.2350, locked=False, battery_pct=79)
        handle_telemetry(uow(), telemetry_reported("L-ride", fix, at))
    closed = opened + timedelta(minutes=25)
    close = Event(1, 5, ms(closed), EventType.LOCKED, lon=121.4950, lat=31.2360)
    handle_event(uow(), event_reported("L-ride", close, closed + timedelta(seconds=1)))

    with uow() as unit:
        ended = unit.rentals.get(rental.id)
        history = [
            e.kind
            for e in unit.vehicle_history.events(CITY, START, closed + timedelta(1), None, None)
        ]
        score = unit.credit.score(rider.id)
        asset_after = unit.assets.overview(closed, CITY)[0]
    assert ended is not None and ended.state is RentalState.ENDED
    assert ended.fare_minor == 100 + 150  # the unlock fee and one started half hour
    assert ended.parking is Parking.OK
    assert (
        ended.distance_m is not None and 1400 < ended.distance_m < 1500
    )  # the two fixes, the close
    [wallet] = wallet_summaries(uow(), rider.id, 0)
    assert (wallet.balance_minor, wallet.debt_minor) == (1000 - 250, 0)
    assert books(uow()).balanced
    assert score == 600 + 2  # a clean ride
    assert history == [VehicleEvent.TRIP_START, VehicleEvent.TRIP_END]
    assert asset_after.rental_state is None and asset_after.locked is True
    assert store.notifications.count((RENTAL_STATE_CHANNEL, str(rental.id))) == 2
    assert asset.id == asset_after.id


def test_a_city_has_one_rebalancing_run_at_a_time_as_the_unique_index_keeps_it(store):
    with FakeUnitOfWork(store) as unit:
        first = unit.rebalancing.add_plan(CITY, RunTrigger.OPERATOR, START)
        assert first is not None and first.version == 1
        assert unit.rebalancing.add_plan(CITY, RunTrigger.NIGHTLY, START) is None
        unit.rebalancing.end_plan(first.id, PlanState.FAILED, START, error="no trucks")
        second = unit.rebalancing.add_plan(CITY, RunTrigger.NIGHTLY, START)
        assert second is not None and second.version == 2
        assert unit.rebalancing.plan_under_way(CITY) == second
