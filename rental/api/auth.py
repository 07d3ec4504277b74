"""Bearer access tokens: signed, short-lived, naming the user, the role and the session.

An access token is JSON signed with itsdangerous: `{sub, role, sid, exp}` (`exp` in Unix
seconds). Its signature and expiry are checked without the database; then its session is
looked up (`rental.services.sessions.check_live`: one read by primary key), so that a
session ended by signing out, a password change or a reused refresh token stops its
access tokens at once instead of when they expire.

Why a lookup per request rather than a per-user "valid after" time kept in the token's
checks: signing out ends one device's session and leaves the others, which a per-user
time cannot say; and the read by primary key costs well under a millisecond on requests
that go to the database anyway. A cache would save it at the price of a window in which
an ended session still works on the workers that have not heard.
"""

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from flask import Flask, Request, Response, current_app, g, request
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeSerializer

from rental.api.common import platform
from rental.domain.errors import Forbidden, NotAuthenticated
from rental.domain.riders import Role
from rental.services import mds, sessions
from rental.services.sessions import IssuedTokens

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    session_id: uuid.UUID
    expires_at: int  # Unix seconds


# Tokens signed before sessions existed used another salt: they are refused, not trusted.
ACCESS_TOKEN_SALT = "session-access-token"


def _serializer() -> URLSafeSerializer:
    # The expiry is a claim of its own: it depends on the role, and the platform's clock
    # (not the machine's) decides it, as it does everywhere else.
    return _signer(current_app.config["SECRET_KEY"], ACCESS_TOKEN_SALT)


@functools.lru_cache(maxsize=8)
def _signer(secret_key: str, salt: str) -> URLSafeSerializer:
    """One per key and salt, made once: making one tries a dump of its own (itsdangerous'
    `is_text_serializer`), a cost every request paid otherwise. They keep no state."""
    return URLSafeSerializer(secret_key, salt=salt)


class NoCookieSessions(SessionInterface):
    """Flask's cookie session, never used: riders and operators send bearer tokens, and no
    state is kept in cookies. Flask opens its default one on every request (making a
    signing serializer each time); this one opens nothing, and any write to `flask.session`
    fails loudly instead of setting a cookie."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def issue_access_token(tokens: IssuedTokens) -> str:
    session = tokens.session
    claims = {
        "sub": str(session.user_id),
        "role": session.role.value,
        "sid": str(session.id),
        "exp": int(tokens.access_expires_at.timestamp()),
    }
    return str(_serializer().dumps(claims))


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send Authorization: Bearer <access_token>", "missing_token")
    return token


def signed_claims() -> AccessClaims:
    """The claims of the request's access token, whose signature is ours; expired or not,
    and whatever became of its session. Raises NotAuthenticated `missing_token` or
    `invalid_token`."""
    try:
        claims = _serializer().loads(_bearer_token())
        return AccessClaims(
            uuid.UUID(claims["sub"]),
            Role(claims["role"]),
            uuid.UUID(claims["sid"]),
            int(claims["exp"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotAuthenticated("the access token is not valid", "invalid_token") from None


def _live_claims(role: Role | None) -> AccessClaims:
    """The claims of an unexpired access token of a live session (of `role`, if given)."""
    claims = signed_claims()
    p = platform()
    now = p.now()
    if now.timestamp() >= claims.expires_at:
        raise NotAuthenticated("the access token has expired", "token_expired")
    if role is not None and claims.role is not role:
        raise Forbidden(f"this needs an account of role {role.value}", "wrong_role")
    sessions.check_live(p.reader(), claims.session_id, now)
    return claims


def requires(role: Role | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The view runs for a live session of an account of `role` (None: any role);
    `current_user_id()` and `current_session_id()` name them. Raises NotAuthenticated
    (`missing_token`, `invalid_token`, `token_expired`, `session_ended`) or Forbidden
    `wrong_role`."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            claims = _live_claims(role)
            g.user_id = claims.user_id
            g.session_id = claims.session_id
            return view(*args, **kwargs)

        return wrapped

    return decorate


def current_user_id() -> uuid.UUID:
    user_id: uuid.UUID = g.user_id
    return user_id


def current_session_id() -> uuid.UUID:
    session_id: uuid.UUID = g.session_id
    return session_id


# MDS clients (a city, or its data contractor) hold a token that never expires on its
# own: it names a client row, and revoking the row ends it.
def _client_serializer(secret_key: str | None = None) -> URLSafeSerializer:
    return _signer(secret_key or current_app.config["SECRET_KEY"], "mds-client")


def issue_client_token(client_id: uuid.UUID, secret_key: str | None = None) -> str:
    """`secret_key` outside a request (the command line); the app's own inside one."""
    return str(_client_serializer(secret_key).dumps({"client": str(client_id)}))


def requires_city_client(view: Callable[P, R]) -> Callable[P, R]:
    """The view runs for a live MDS client; `g.city_id` is the only city it may read."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        g.city_id = mds.city_of_client(platform().uow(), signed_client_id())
        return view(*args, **kwargs)

    return wrapped


def signed_client_id() -> uuid.UUID:
    """The MDS client the request's token names, its signature ours (live or revoked).
    Raises NotAuthenticated `missing_token` or `invalid_token`."""
    try:
        return uuid.UUID(_client_serializer().loads(_bearer_token())["client"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotAuthenticated("the access token is not valid", "invalid_token") from None
