"""Signing in and out, refreshing the tokens, changing the password.

    POST /api/v1/auth/token     {phone, password}            -> tokens
    POST /api/v1/auth/refresh   {refresh_token}              -> tokens (a new refresh token)
    POST /api/v1/auth/logout    Bearer access token          -> 204
    POST /api/v1/me/password    {current_password, new_password} -> 204

where tokens are `{access_token, token_type: "bearer", expires_in, refresh_token, role}`,
`expires_in` in seconds. Riders and operators alike; an operator's tokens live shorter
(settings `ACCESS_TOKEN_SECONDS`, `REFRESH_TOKEN_SECONDS` and their `OPERATOR_` twins).
The rules are in `rental.services.sessions`.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, StringConstraints

from rental.api.auth import current_session_id, current_user_id, issue_access_token, signed_claims
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    NO_NUL,
    SIGNED_IN,
    AnswerModel,
    Password,
    RequestModel,
    signed_in,
)
from rental.domain.errors import NotAuthenticated
from rental.domain.riders import Role
from rental.services import sessions
from rental.services.commands.riders import ChangePassword, RefreshSession, SignIn
from rental.services.sessions import IssuedTokens

SESSIONS = Tag(name="sessions", description="signing in and out, tokens, the password")
blueprint = APIBlueprint("sessions", __name__, url_prefix="/api/v1", abp_tags=[SESSIONS])

# Ours are 43 characters; anything much longer was never issued (401, not 400: the token
# is wrong, not the request).
MAX_REFRESH_TOKEN_LENGTH = 200
# What a sign-in may send: room for a phone number as typed, and for any password a rider
# ever set (sign-up allows 128 characters; older accounts had no upper bound).
TypedPhone = Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]
AnyPassword = Annotated[str, StringConstraints(max_length=1024, pattern=NO_NUL)]


class Tokens(AnswerModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds the access token lives")
    refresh_token: str = Field(description="spent by its one use at /auth/refresh")
    role: Role


def _tokens(issued: IssuedTokens, now: datetime) -> dict[str, Any]:
    expires_in = issued.access_expires_at - now
    return Tokens(
        access_token=issue_access_token(issued),
        token_type="bearer",
        expires_in=max(0, int(expires_in.total_seconds())),
        refresh_token=issued.refresh_token,
        role=issued.session.role,
    ).json()


class Credentials(RequestModel):
    phone: TypedPhone
    password: AnyPassword

    def command(self) -> SignIn:
        return SignIn(self.phone, self.password)


@blueprint.post("/auth/token", responses={200: Tokens, 401: SIGNED_IN[401]})
def sign_in(body: Credentials) -> dict[str, Any]:
    """A new session. 401 `bad_credentials`, the same for an unknown phone as for a wrong
    password."""
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    return _tokens(sessions.sign_in(p.uow(), p.passwords, lifetimes, body.command(), now), now)


class Refresh(RequestModel):
    refresh_token: Annotated[str, StringConstraints(pattern=NO_NUL)]


@blueprint.post("/auth/refresh", responses={200: Tokens, 401: SIGNED_IN[401]})
def refresh(body: Refresh) -> dict[str, Any]:
    """New tokens; the refresh token sent is spent. 401 `invalid_refresh_token`,
    `refresh_token_reused` (the session is ended: a spent token came back) or
    `session_ended`."""
    token = body.refresh_token
    if not token or len(token) > MAX_REFRESH_TOKEN_LENGTH:
        raise NotAuthenticated("the refresh token is not valid", "invalid_refresh_token")
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    return _tokens(sessions.refresh(p.uow(), lifetimes, RefreshSession(token), now), now)


@blueprint.post("/auth/logout", security=BEARER, responses={204: None, **SIGNED_IN})
def sign_out() -> tuple[str, int]:
    """End the session the access token names; its refresh token stops working, and so do
    its access tokens. The access token may have expired, and signing out twice is fine:
    204 either way. 401 `missing_token` or `invalid_token`."""
    p = platform()
    sessions.sign_out(p.uow(), signed_claims().session_id, p.now())
    return "", 204


class NewPassword(RequestModel):
    current_password: AnyPassword | None = Field(
        default=None, description="required unless the account has none yet (made by a code)"
    )
    new_password: Password

    def command(self, user_id: UUID, session_id: UUID) -> ChangePassword:
        return ChangePassword(user_id, session_id, self.current_password, self.new_password)


@blueprint.post("/me/password", security=BEARER, responses={204: None, **SIGNED_IN})
@signed_in(None)
def change_password(body: NewPassword) -> tuple[str, int]:
    """The new password works from now on, and every other session of the account ends.
    A rider's account made by a code sets its first password without `current_password`.
    400 `invalid_password` (the new one), 403 `wrong_password` (the current one, or none
    sent for an account that has one)."""
    p = platform()
    command = body.command(current_user_id(), current_session_id())
    sessions.change_password(p.uow(), p.passwords, command, p.now())
    return "", 204
