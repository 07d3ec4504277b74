"""Signing in with a code sent by SMS, the way sharing apps do it: a rider types a phone
number, gets a code, types it, and is signed in, with an account made on the spot for a
number seen the first time. No password is needed (one may be set later); the answers
are the same whether or not the number has an account, so nobody learns which do.

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
from rental.domain.riders import Role, User
from rental.domain.sessions import TokenLifetimes
from rental.services.commands.riders import SendSignInCode, SignInWithCode
from rental.services.ports import SmsError, SmsNumberLimited, SmsNumberRefused, SmsSender
from rental.services.sessions import IssuedTokens, open_session
from rental.services.unit_of_work import UnitOfWork

# An account made by a code has no password until its owner sets one; no password
# hash has this form, so no password matches it.
NO_PASSWORD = "!"


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
    rules: CodeRules,
    lifetimes: TokenLifetimes,
    command: SignInWithCode,
    now: datetime,
) -> IssuedTokens:
    """A new session for the number's account (a new rider's account if it has none).

    An account that has a password is not entered by code: password sign-up never proved
    the number was its maker's, so a code (which proves it now) opening that account would
    let whoever made it with someone else's number share it with the number's owner.

    Raises NotAuthenticated `bad_code` (wrong, expired, spent, out of tries or never sent:
    the same answer), `password_required` for a number whose account has a password
    (every operator's; riders who signed up with one); InvalidInput `invalid_phone`."""
    phone = e164(command.phone, rules.home_region)
    with uow:
        waiting = uow.phone_codes.get(phone, for_update=True)
        if waiting is None or not try_code(waiting, rules.key, command.code, now):
            if waiting is not None:
                uow.phone_codes.save(waiting)  # the try is spent even when it fails
                uow.commit()
            raise NotAuthenticated("wrong or expired code", "bad_code")
        uow.phone_codes.delete(phone)  # a code signs in once
        user = _account_of(uow, phone, rules.home_region)
        uow.commit()
    if user.role is not Role.RIDER or user.password_hash != NO_PASSWORD:
        raise NotAuthenticated(
            "this number's account signs in with its password", "password_required"
        )
    return open_session(uow, user, lifetimes, now)


def _account_of(uow: UnitOfWork, phone: str, home_region: str) -> User:
    for form in legacy_forms(phone, home_region):
        user = uow.users.by_phone(form)
        if user is not None:
            return user
    user = User(uuid.uuid4(), phone, "", Role.RIDER, NO_PASSWORD)
    uow.users.add(user)
    return user
