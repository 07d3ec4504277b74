"""Signing up, signing in, and the welcome credit."""

import uuid

from werkzeug.security import check_password_hash, generate_password_hash

from rental.domain.errors import Conflict, NotAuthenticated, NotFound
from rental.domain.ledger import promotion_postings
from rental.domain.riders import User, compact_phone
from rental.services.commands.riders import RegisterUser, SignIn
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle

# Checking a password against this keeps sign-in for unknown phones as slow as for known ones.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-real-password")


def register(uow: UnitOfWork, command: RegisterUser) -> User:
    user = User(
        id=uuid.uuid4(),
        phone=command.phone,
        name=command.name,
        role=command.role,
        password_hash=generate_password_hash(command.password),
    )
    with uow:
        if uow.users.by_phone(user.phone) is not None:
            raise Conflict("an account with this phone number exists", "phone_taken")
        uow.users.add(user)
        uow.commit()
    return user


def authenticate(uow: UnitOfWork, command: SignIn) -> User:
    with uow:
        user = uow.users.by_phone(compact_phone(command.phone))
    hashed = user.password_hash if user else _UNKNOWN_USER_HASH
    if not check_password_hash(hashed, command.password) or user is None:
        raise NotAuthenticated("wrong phone number or password", "bad_credentials")
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
