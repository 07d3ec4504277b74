"""Signing up (without telling who has an account), signing in and the welcome credit,
in memory."""

import uuid

import pytest

from rental.domain.errors import Conflict, NotAuthenticated, NotFound
from rental.domain.ledger import AccountKind
from rental.domain.riders import Role, User
from rental.services import accounts
from rental.services.commands.riders import RegisterUser, SignIn
from rental.services.wallet import charge_fare
from tests.unit.fakes import FakePasswords
from tests.unit.fakes.world import CURRENCY, World

PASSWORD = "correct horse battery"
# A cheap hasher instead of werkzeug's scrypt (0.2 s a hash, by design): these tests are
# about who may sign in, not what guessing a password costs.
PASSWORDS = FakePasswords()


@pytest.fixture
def world() -> World:
    return World()


def sign_up(world: World, phone: str = "13800138000", role: Role = Role.RIDER) -> User:
    return accounts.register(world.uow(), PASSWORDS, RegisterUser(phone, PASSWORD, "Mei", role))


def test_a_rider_signs_up_and_signs_in_with_the_phone_written_with_spaces(world):
    user = sign_up(world)
    signed_in = accounts.authenticate(world.uow(), PASSWORDS, SignIn("138 0013-8000", PASSWORD))
    assert signed_in == user
    assert (user.name, user.role) == ("Mei", Role.RIDER)
    assert user.password_hash != PASSWORD  # only its hash is kept


def test_a_phone_number_signs_up_once(world):
    sign_up(world)
    with pytest.raises(Conflict) as refused:
        sign_up(world, role=Role.OPERATOR)
    assert refused.value.code == "phone_taken"
    assert len(world.store.users) == 1


@pytest.mark.parametrize("phone", ["1\x00", "13800138000\n", "1" * 300, "+"])
def test_a_phone_that_cannot_be_a_number_is_refused_like_a_wrong_password(world, phone):
    sign_up(world)
    checked = PASSWORDS.checked
    with pytest.raises(NotAuthenticated) as refused:
        accounts.authenticate(world.uow(), PASSWORDS, SignIn(phone, PASSWORD))
    assert refused.value.code == "bad_credentials"
    assert PASSWORDS.checked == checked + 1


@pytest.mark.parametrize(
    ("phone", "password"),
    [("13800138000", "wrong horse battery"), ("13900139000", PASSWORD)],
    ids=["wrong password", "unknown phone"],
)
def test_a_wrong_password_and_an_unknown_phone_are_refused_alike(world, phone, password):
    sign_up(world)
    checked = PASSWORDS.checked
    with pytest.raises(NotAuthenticated) as refused:
        accounts.authenticate(world.uow(), PASSWORDS, SignIn(phone, password))
    assert refused.value.code == "bad_credentials"
    assert PASSWORDS.checked == checked + 1  # an unknown phone costs a check all the same


def test_an_account_is_read_back_and_a_deleted_one_is_not_found(world):
    rider = world.rider()
    assert accounts.account(world.uow(), rider.id) == rider
    with pytest.raises(NotFound) as missing:
        accounts.account(world.uow(), uuid.uuid4())
    assert missing.value.code == "account_not_found"


def test_a_promotion_is_credited_once_per_reference(world):
    rider = world.rider()
    assert accounts.grant_promotion(world.uow(), rider.id, CURRENCY, 500, "welcome")
    assert not accounts.grant_promotion(world.uow(), rider.id, CURRENCY, 500, "welcome")
    assert world.balance(rider) == 500
    assert world.platform_balance(AccountKind.PROMOTIONS) == -500


def test_a_promotion_pays_the_riders_debt_first(world):
    rider = world.rider(credit_minor=100)
    with world.uow() as unit:
        charge_fare(unit, rider.id, CURRENCY, 300, "fare:big", wallet_floor_minor=0)
        unit.commit()
    assert world.debt(rider) == 200
    accounts.grant_promotion(world.uow(), rider.id, CURRENCY, 500, "sorry")
    assert (world.debt(rider), world.balance(rider)) == (0, 300)
    assert world.score(rider) == 600 + 5  # paying what was owed counts as a timely payment
