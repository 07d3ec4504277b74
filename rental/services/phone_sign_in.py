"""Signing in with a code sent by SMS, the way sharing apps do it: a rider types a phone
number, gets a code, types it, and is signed in, with an account made on the spot for a
number seen the first time. No password is needed (one may be set later); the answers
are the same whether or not the number has an account, so nobody learns which do.

Sign-up is the same proof with a name and an optional password (`sign_up_with_code`).
The code's rules (6 digits, 5 minutes, 5 tries, kept as a keyed hash) are in
`rental.domain.phone_codes`; how often codes may be asked for, per phone and per
address, is the API's rate limits (`rental.api.limits`).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.errors import InvalidInput, LimitReached, NotAuthenticated, Unavailable
from rental.domain.phone_codes import issued, new_code, try_code
from rental.domain.phones import e164, legacy_forms
from rental.domain.riders import NO_PASSWORD, Role, User
from rental.domain.sessions import TokenLifetimes
from rental.services.commands.riders import SendSignInCode, SignInWithCode, SignUpWithCode
from rental.services.ports import (
    PasswordHasher,
    SmsError,
    SmsNumberLimited,
    SmsNumberRefused,
    SmsSender,
)
from rental.services.sessions import IssuedTokens, open_session
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CodeRules:
    key: bytes  # the platform's secret, that keys the codes' hashes
    home_region: str  # numbers typed without a country code belong here


def send_sign_in_code(
    uow: UnitOfWork, sms: SmsSender, rules: CodeRules, command: SendSignInCode, now: datetime
) -> str:
    """Text a new code to the number (E.164, returned), replacing any code sent before.
    Raises InvalidInput `invalid_phone` (also when the provider will not text the number),
    LimitReached `sms_limit_reached` (the provider's own limit of texts to the number: its
    fault, not ours, so 429 with when to try again rather than 503), Unavailable
    `sms_unavailable` (the provider could not be asked, or refused us)."""
    phone = e164(command.phone, rules.home_region)
    code = new_code()
    with uow:
        uow.phone_codes.put(issued(rules.key, phone, code, now))
        uow.commit()
    try:
        sms.send_code(phone, code)
    except SmsNumberLimited as exc:
        retry_at = now + timedelta(seconds=exc.retry_after_seconds)
        raise LimitReached(
            "too many texts were sent to this number; try again later",
            "sms_limit_reached",
            retry_at=retry_at,
            now=now,
        ) from exc
    except SmsNumberRefused as exc:
        raise InvalidInput("this number cannot receive texts", "invalid_phone", "phone") from exc
    except SmsError as exc:
        raise Unavailable("the code could not be sent; try again", "sms_unavailable") from exc
    return phone


def sign_in_with_code(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    rules: CodeRules,
    lifetimes: TokenLifetimes,
    command: SignInWithCode,
    now: datetime,
) -> IssuedTokens:
    """A new session for the number's account (a new rider's account, without a password,
    if it has none).

    A code signs in a rider's account whose number a code has proven before (every account
    made by a code, with or without a password set later). A password account whose number
    was never proven (made by the old password sign-up) is not entered by a code alone:
    its maker may not own the number, and the code's owner would then share the account
    with them. Sent with the account's `password` as well, the code proves the number and
    the account signs in by code alone from then on; until then a right code stays good
    (its try spent), so the rider can add the password without asking for another text.
    Operators sign in with passwords only.

    Raises NotAuthenticated `bad_code` (wrong, expired, spent, out of tries or never sent:
    the same answer), `password_required` (an operator's number, or an unproven password
    account without its right password); InvalidInput `invalid_phone`."""
    phone = e164(command.phone, rules.home_region)
    new_rider = User(uuid.uuid4(), phone, "", Role.RIDER, NO_PASSWORD, phone_proven=True)
    user = _proven_account(
        uow, passwords, rules, phone, command.code, command.password, new_rider, now
    )
    return open_session(uow, user, lifetimes, now)


def sign_up_with_code(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    rules: CodeRules,
    lifetimes: TokenLifetimes,
    command: SignUpWithCode,
    now: datetime,
) -> IssuedTokens:
    """A rider's sign-up: the code texted to the number proves it, then a new session. A
    number seen the first time gets an account with the name, and the password if one is
    given (it stays optional: a code signs in either way). A number that has an account
    signs into it as `sign_in_with_code` would (the password given, if it is the
    account's, proves an old account's number), its name and password unchanged: only the
    number's owner can get this far, so telling them is no leak, and strangers get
    `bad_code` alike for every number. A given password is hashed before anything else,
    whether or not it is used, so both take as long.

    Raises NotAuthenticated `bad_code`, `password_required` (as `sign_in_with_code`);
    InvalidInput `invalid_phone`."""
    new_hash = passwords.hash(command.password) if command.password else NO_PASSWORD
    phone = e164(command.phone, rules.home_region)
    new_rider = User(uuid.uuid4(), phone, command.name, Role.RIDER, new_hash, phone_proven=True)
    user = _proven_account(
        uow, passwords, rules, phone, command.code, command.password, new_rider, now
    )
    return open_session(uow, user, lifetimes, now)


def _proven_account(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    rules: CodeRules,
    phone: str,
    code: str,
    password: str | None,
    new_rider: User,
    now: datetime,
) -> User:
    """The account a right `code` for `phone` opens (`new_rider`, added, when the number
    has none); the code is spent. Raises NotAuthenticated `bad_code`, `password_required`."""
    with uow:
        waiting = uow.phone_codes.get(phone, for_update=True)
        if waiting is None or not try_code(waiting, rules.key, code, now):
            if waiting is not None:
                uow.phone_codes.save(waiting)  # the try is spent even when it fails
                uow.commit()
            raise NotAuthenticated("wrong or expired code", "bad_code")
        user = _account_of(uow, phone, rules.home_region)
        if user is not None and _needs_password(user):
            # Checked here, under the code's lock: only a right code gets this far.
            if not (user.role is Role.RIDER and _password_opens(passwords, user, password)):
                uow.phone_codes.save(waiting)  # good for the password still, its try spent
                uow.commit()
                raise NotAuthenticated(
                    "this number's account signs in with its password", "password_required"
                )
            uow.users.mark_phone_proven(user.id)
        if user is None:
            user = new_rider
            uow.users.add(user)
        uow.phone_codes.delete(phone)  # a code signs in once
        uow.commit()
    return user


def _needs_password(user: User) -> bool:
    """Whether a code alone does not open the account (see `sign_in_with_code`)."""
    if user.role is not Role.RIDER:
        return True
    return user.password_hash != NO_PASSWORD and not user.phone_proven


def _password_opens(passwords: PasswordHasher, user: User, password: str | None) -> bool:
    return password is not None and passwords.matches(user.password_hash, password)


def _account_of(uow: UnitOfWork, phone: str, home_region: str) -> User | None:
    for form in legacy_forms(phone, home_region):
        user = uow.users.by_phone(form)
        if user is not None:
            return user
    return None
