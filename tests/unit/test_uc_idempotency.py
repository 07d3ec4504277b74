"""An idempotency key names one request: its retry answers the first result, and the same
key on any other request (another operation, or other parameters) is refused, in memory."""

from datetime import timedelta

import pytest

from rental.domain.errors import NotFound
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.idempotency import KeyReused
from rental.services import payments, reservations
from rental.services.commands.money import StartDeposit, StartTopUp
from rental.services.commands.rides import Reserve
from tests.unit.fakes import FakePaymentGateway
from tests.unit.fakes.world import BIKE_PRICE, CITY, CURRENCY, World

NOTIFY_URL = "https://rental.example/api/v1/payments/notify/sandbox"
KEY = "request-0001"
HOLD_LENGTH = timedelta(minutes=15)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway("sandbox")


def top_up(world: World, gateway: FakePaymentGateway, rider_id, amount: int = 2000):
    command = StartTopUp(rider_id, amount, CURRENCY, KEY)
    return payments.start_top_up(world.uow(), gateway, command, NOTIFY_URL, world.now)


def deposit(world: World, gateway: FakePaymentGateway, rider_id):
    command = StartDeposit(rider_id, CITY, AssetKind.BIKE, KEY)
    return payments.start_deposit(world.uow(), gateway, command, NOTIFY_URL, world.now)


def hold(world: World, rider_id, code: str):
    command = Reserve(rider_id, code, KEY)
    return reservations.reserve(world.uow(), command, world.now, HOLD_LENGTH, ServicePolicy())


def test_a_retried_top_up_answers_its_first_order(world, gateway):
    rider = world.rider()
    first = top_up(world, gateway, rider.id)
    assert top_up(world, gateway, rider.id).id == first.id
    assert len(gateway.orders) == 1


def test_a_top_ups_key_on_a_deposit_is_refused_not_answered_with_the_top_up(world, gateway):
    rider = world.rider()
    top_up(world, gateway, rider.id)
    with pytest.raises(KeyReused) as refusal:
        deposit(world, gateway, rider.id)
    assert refusal.value.code == "idempotency_key_reused"


def test_one_key_for_two_amounts_is_refused(world, gateway):
    rider = world.rider()
    top_up(world, gateway, rider.id, amount=2000)
    with pytest.raises(KeyReused):
        top_up(world, gateway, rider.id, amount=5000)


def test_a_scans_key_on_a_hold_is_refused(world):
    rider, bike = world.rider(), world.bike()
    world.scan(rider, bike, key=KEY)
    with pytest.raises(KeyReused):
        hold(world, rider.id, bike.code)


def test_a_scan_of_another_vehicle_with_the_same_key_is_refused(world):
    rider, bike, other = world.rider(), world.bike(), world.bike()
    world.scan(rider, bike, key=KEY)
    with pytest.raises(KeyReused):
        world.scan(rider, other, key=KEY)


def test_a_refused_request_leaves_its_key_free(world):
    rider, bike = world.rider(), world.bike()
    with pytest.raises(NotFound):
        hold(world, rider.id, "NO-SUCH-CODE")
    assert world.scan(rider, bike, key=KEY).asset_id == bike.id


def test_keys_belong_to_one_rider(world, gateway):
    world.publish("bike", BIKE_PRICE, deposit_minor=29_900)
    first, second = world.rider(), world.rider()
    top_up(world, gateway, first.id)
    assert deposit(world, gateway, second.id).rider_id == second.id
