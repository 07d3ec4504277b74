"""Signing up, signing in, and the welcome credit."""

import uuid

from rental.domain.errors import Conflict, NotAuthenticated, NotFound
from rental.domain.ledger import promotion_postings
from rental.domain.riders import PHONE, User, compact_phone
from rental.services.commands.riders import RegisterUser, SignIn
from rental.services.ports import PasswordHasher
from rental.services.unit_of_work import UnitOfWork
from rental.services.wallet import credit_and_settle


def register(uow: UnitOfWork, passwords: PasswordHasher, command: RegisterUser) -> User:
    """A new account; only the password's hash is kept. Raises Conflict `phone_taken`.

    For operators and the command line; riders sign up by a texted code
    (`rental.services.phone_sign_in.sign_up_with_code`), which proves the number."""
    user = _new_user(passwords, command)
    if _add_unless_taken(uow, user) is not None:
        raise Conflict("an account with this phone number exists", "phone_taken")
    return user


def _new_user(passwords: PasswordHasher, command: RegisterUser) -> User:
    return User(
        id=uuid.uuid4(),
        phone=command.phone,
        name=command.name,
        role=command.role,
        password_hash=passwords.hash(command.password),
    )


def _add_unless_taken(uow: UnitOfWork, user: User) -> User | None:
    """Add the user, unless an account has the phone: then that account, unchanged."""
    try:
        with uow:
            existing = uow.users.by_phone(user.phone)
            if existing is None:
                uow.users.add(user)
                uow.commit()
            return existing
    except Conflict as taken:
        if taken.code != "phone_taken":
            raise
    # Signed up a moment ago by a request that won the race: its account is the owner.
    with uow:
        existing = uow.users.by_phone(user.phone)
    assert existing is not None, "the phone was taken, so its account exists"
    return existing


def authenticate(uow: UnitOfWork, passwords: PasswordHasher, command: SignIn) -> User:
    """The account of this phone and password. Raises NotAuthenticated `bad_credentials`,
    the same for an unknown phone as for a wrong password."""
    phone = compact_phone(command.phone)
    user = None
    if PHONE.fullmatch(phone):  # anything else has no account (nor reaches the database)
        with uow:
            user = uow.users.by_phone(phone)
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
