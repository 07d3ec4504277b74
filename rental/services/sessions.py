"""Sessions: signing in, refreshing the tokens, signing out, changing the password.

A sign-in opens a session (`rental.domain.sessions`) and gives the client a refresh
token; the API signs a short-lived access token naming the session. Each request checks
that the session is live (`check_live`, one lookup by primary key), so that ending a
session ends its access tokens at once, not when they expire.

Refresh tokens rotate: each refresh spends the token presented and answers a new one. A
spent token presented again means that two parties hold it, and one of them is not the
rider; since nobody can tell which, the whole session ends, taking the thief's copy with
the rider's, and the rider signs in again. This is the refresh token rotation of the
OAuth 2.0 Security Best Current Practice (RFC 9700 §4.14.2) and of the OAuth 2.0 threat
model (RFC 6819 §5.2.2.3). Spent tokens are kept, as hashes, to recognise them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rental.domain.errors import Forbidden, NotAuthenticated
from rental.domain.riders import NO_PASSWORD, Role, User
from rental.domain.sessions import (
    Session,
    SessionEnd,
    TokenLifetimes,
    new_refresh_token,
    refresh_token_hash,
)
from rental.services import accounts
from rental.services.commands.riders import ChangePassword, RefreshSession, SignIn
from rental.services.ports import PasswordHasher
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedTokens:
    """A session's new refresh token, and until when its access token may live."""

    session: Session
    refresh_token: str
    access_expires_at: datetime


def sign_in(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    lifetimes: TokenLifetimes,
    command: SignIn,
    now: datetime,
) -> IssuedTokens:
    """A new session for the account of this phone and password. Raises NotAuthenticated
    `bad_credentials`, the same for an unknown phone as for a wrong password."""
    user = accounts.authenticate(uow, passwords, command)
    return open_session(uow, user, lifetimes, now)


def refresh(
    uow: UnitOfWork, lifetimes: TokenLifetimes, command: RefreshSession, now: datetime
) -> IssuedTokens:
    """Spend a refresh token for a new one (and a new access token) in the same session.

    Raises NotAuthenticated: `invalid_refresh_token` (never issued, or forgotten long after
    it expired), `refresh_token_reused` (spent before: the session is ended now), or
    `session_ended` (signed out, expired, or ended by a password change)."""
    spent = refresh_token_hash(command.refresh_token)
    with uow:
        presented = uow.sessions.by_refresh_token(spent)
        if presented is None:
            raise NotAuthenticated("the refresh token is not valid", "invalid_refresh_token")
        session = presented.session
        if presented.used_at is not None:
            uow.sessions.end(session.id, now, SessionEnd.REFRESH_TOKEN_REUSED)
            uow.commit()
            raise NotAuthenticated(
                "this refresh token was used before, so the session is ended: sign in again",
                "refresh_token_reused",
            )
        if not session.is_live(now):
            raise NotAuthenticated("the session has ended: sign in again", "session_ended")
        token = new_refresh_token()
        session.expires_at = now + lifetimes.refresh(session.role)
        uow.sessions.rotate(session.id, spent, refresh_token_hash(token), now, session.expires_at)
        uow.commit()
    return _issued(session, token, lifetimes, now)


def sign_out(uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> None:
    """End the session; its refresh and access tokens stop working. Ending a session that
    has ended already (or never was) changes nothing: signing out twice is fine."""
    with uow:
        uow.sessions.end(session_id, now, SessionEnd.SIGNED_OUT)
        uow.commit()


def change_password(
    uow: UnitOfWork, passwords: PasswordHasher, command: ChangePassword, now: datetime
) -> int:
    """Set a new password, given the current one, and end every other session of the
    account (a thief signed in elsewhere is signed out). Returns how many sessions ended.
    An account made by a code has no password: its first one needs only the session (its
    number was proven by the code that signed it in, and nothing else proves more).
    Raises Forbidden `wrong_password` (not 401: the rider stays signed in)."""
    user = accounts.account(uow, command.user_id)
    first = user.password_hash == NO_PASSWORD and user.role is Role.RIDER
    if not first and not passwords.matches(user.password_hash, command.current_password or ""):
        raise Forbidden("the current password is not right", "wrong_password")
    new_hash = passwords.hash(command.new_password)  # slow by design: outside the transaction
    with uow:
        uow.users.set_password_hash(user.id, new_hash)
        ended = uow.sessions.end_all_but(
            user.id, command.session_id, now, SessionEnd.PASSWORD_CHANGED
        )
        uow.commit()
    return ended


def check_live(uow: UnitOfWork, session_id: uuid.UUID, now: datetime) -> None:
    """Raises NotAuthenticated `session_ended` unless the session is live."""
    with uow:
        live = uow.sessions.is_live(session_id, now)
    if not live:
        raise NotAuthenticated("the session has ended: sign in again", "session_ended")


def forget_old_sessions(uow: UnitOfWork, now: datetime, keep: timedelta) -> int:
    """Delete sessions that ended or expired longer than `keep` ago, and spent refresh
    tokens issued longer ago than that; returns how many rows went.

    `keep` is the longest a refresh token lives: a spent token older than that would have
    expired unused anyway, so presenting it again only says `invalid_refresh_token` and no
    longer ends its session (a password change still does)."""
    with uow:
        forgotten = uow.sessions.forget_before(now - keep)
        uow.commit()
    return forgotten


def open_session(
    uow: UnitOfWork, user: User, lifetimes: TokenLifetimes, now: datetime
) -> IssuedTokens:
    """A new session of `user`, who proved who they are (a password, a code sent by SMS)."""
    token = new_refresh_token()
    session = Session(uuid.uuid4(), user.id, user.role, now, now + lifetimes.refresh(user.role))
    with uow:
        uow.sessions.add(session, refresh_token_hash(token))
        uow.commit()
    return _issued(session, token, lifetimes, now)


def _issued(
    session: Session, refresh_token: str, lifetimes: TokenLifetimes, now: datetime
) -> IssuedTokens:
    # An access token never outlives its session's refresh token.
    access_expires_at = min(now + lifetimes.access(session.role), session.expires_at)
    return IssuedTokens(session, refresh_token, access_expires_at)
