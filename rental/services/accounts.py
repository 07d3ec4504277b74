"""Signing up, signing in, and the welcome credit."""

import uuid

from werkzeug.security import check_password_hash, generate_password_hash

from rental.domain.errors import Conflict, NotAuthenticated
from rental.domain.ledger import promotion_postings
from rental.domain.riders import Role, User, checked_name, checked_password, normalised_phone
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle

# Checking a password against this keeps sign-in for unknown phones as slow as for known ones.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-real-password")


def register(uow: UnitOfWork, phone: object, password: object, name: object, role: Role) -> User:
    user = User(
        id=uuid.uuid4(),
        phone=normalised_phone(phone),
        name=checked_name(name),
        role=role,
        password_hash=generate_password_hash(checked_password(password)),
    )
    with uow:
        if uow.users.by_phone(user.phone) is not None:
            raise Conflict("an account with this phone number exists", "phone_taken")
        uow.users.add(user)
        uow.commit()
    return user


def authenticate(uow: UnitOfWork, phone: object, password: object) -> User:
    if not isinstance(phone, str) or not isinstance(password, str):
        raise NotAuthenticated("phone and password are required", "bad_credentials")
    with uow:
        user = uow.users.by_phone(phone.replace(" ", "").replace("-", ""))
    hashed = user.password_hash if user else _UNKNOWN_USER_HASH
    if not check_password_hash(hashed, password) or user is None:
        raise NotAuthenticated("wrong phone number or password", "bad_credentials")
    return user


def grant_promotion(
    uow: UnitOfWork,
    rider_id: uuid.UUID,
    currency: str,
    amount_minor: int,
    reference: str,
    floor_minor: int = 0,
) -> bool:
    """Credit a rider's wallet from the promotions budget, once per reference."""
    entries = promotion_postings(str(rider_id), currency, amount_minor)
    with uow:
        booked = credit_and_settle(
            uow, rider_id, currency, "promotion", reference, entries, floor_minor
        )
        uow.commit()
    return booked
