"""Signing up, signing in, and the welcome credit."""

import uuid

from rental.domain.errors import Conflict, NotAuthenticated, NotFound
from rental.domain.ledger import promotion_postings
from rental.domain.riders import User, compact_phone
from rental.services.commands.riders import RegisterUser, SignIn
from rental.services.ports import PasswordHasher
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle


def register(uow: UnitOfWork, passwords: PasswordHasher, command: RegisterUser) -> User:
    """A new account; only the password's hash is kept. Raises Conflict `phone_taken`."""
    user = User(
        id=uuid.uuid4(),
        phone=command.phone,
        name=command.name,
        role=command.role,
        password_hash=passwords.hash(command.password),
    )
    with uow:
        if uow.users.by_phone(user.phone) is not None:
            raise Conflict("an account with this phone number exists", "phone_taken")
        uow.users.add(user)
        uow.commit()
    return user


def authenticate(uow: UnitOfWork, passwords: PasswordHasher, command: SignIn) -> User:
    """The account of this phone and password. Raises NotAuthenticated `bad_credentials`,
    the same for an unknown phone as for a wrong password."""
    with uow:
        user = uow.users.by_phone(compact_phone(command.phone))
    if not passwords.matches(user.password_hash if user else None, command.password):
        raise NotAuthenticated("wrong phone number or password", "bad_credentials")
    assert user is not None
    return user


def account(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    with uow:
        user = uow.users.get(user_id)
    if user is None:
        raise NotFound("this account no longer exists", "account_not_found")
    return user


def grant_promotion(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    currency: str,
    amount_minor: int,
    reference: str,
    wallet_floor_minor: int = 0,
) -> bool:
    """Credit a rider's wallet from the promotions budget, once per reference."""
    entries = promotion_postings(str(rider_id), currency, amount_minor)
    with uow:
        booked = credit_and_settle(
            uow, rider_id, currency, "promotion", reference, entries, wallet_floor_minor
        )
        uow.commit()
    return booked
