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

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, StringConstraints

from rental.api.auth import (
    current_session_id,
    current_user_id,
    issue_access_token,
    signed_claims,
)
from rental.api.common import platform
from rental.api.contract import BEARER, NO_NUL, AnswerModel, Password, RequestModel, signed_in
from rental.domain.riders import MAX_PASSWORD_LENGTH, Role
from rental.services import sessions
from rental.services.commands.riders import ChangePassword, RefreshSession, SignIn
from rental.services.sessions import IssuedTokens

SESSIONS = Tag(name="sessions", description="signing in and out, tokens, the password")
blueprint = APIBlueprint("sessions", __name__, url_prefix="/api/v1", abp_tags=[SESSIONS])

# Ours are 43 characters; anything much longer was never issued.
MAX_REFRESH_TOKEN_LENGTH = 200
# Longer than any phone number written with spaces, dashes and a country code.
MAX_PHONE_TEXT = 32

# What a rider types: not checked against the password rules (an old password may predate
# them), only bounded; a wrong one is the same 401 as an unknown phone.
TypedPassword = Annotated[str, StringConstraints(max_length=MAX_PASSWORD_LENGTH, pattern=NO_NUL)]


class Credentials(RequestModel):
    phone: Annotated[
        str,
        StringConstraints(max_length=MAX_PHONE_TEXT, pattern=NO_NUL),
        Field(description="as the rider types it: spaces, dashes and +86 are fine"),
    ]
    password: TypedPassword


class RefreshRequest(RequestModel):
    refresh_token: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_REFRESH_TOKEN_LENGTH, pattern=NO_NUL)
    ]


class PasswordChange(RequestModel):
    current_password: TypedPassword
    new_password: Password


class Tokens(AnswerModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds the access token lives")
    refresh_token: str = Field(description="spent by its first use: keep the new one")
    role: Role


@blueprint.post("/auth/token", responses={200: Tokens})
def sign_in(body: Credentials) -> dict[str, Any]:
    """A new session. Raises NotAuthenticated `bad_credentials` (401), the same for an
    unknown phone as for a wrong password."""
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    command = SignIn(body.phone, body.password)
    return _tokens(sessions.sign_in(p.uow(), p.passwords, lifetimes, command, now), now)


@blueprint.post("/auth/refresh", responses={200: Tokens})
def refresh(body: RefreshRequest) -> dict[str, Any]:
    """`{refresh_token}` -> new tokens; the refresh token sent is spent. Raises
    NotAuthenticated (401): `invalid_refresh_token`, `refresh_token_reused` (the session
    is ended: a spent token came back) or `session_ended`."""
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    issued = sessions.refresh(p.uow(), lifetimes, RefreshSession(body.refresh_token), now)
    return _tokens(issued, now)


@blueprint.post("/auth/logout", security=BEARER, responses={204: None})
def sign_out() -> tuple[str, int]:
    """End the session the access token names; its refresh token stops working, and so
    do its access tokens. The access token may have expired, and signing out twice is
    fine: 204 either way. Raises NotAuthenticated `missing_token` or `invalid_token`."""
    p = platform()
    sessions.sign_out(p.uow(), signed_claims().session_id, p.now())
    return "", 204


@blueprint.post("/me/password", security=BEARER, responses={204: None})
@signed_in(None)
def change_password(body: PasswordChange) -> tuple[str, int]:
    """`{current_password, new_password}`: the new password works from now on, and every
    other session of the account ends. Raises InvalidInput `invalid_new_password` (400:
    the new one breaks the password rules) or Forbidden `wrong_password` (403: the current
    one is not right)."""
    command = ChangePassword(
        current_user_id(), current_session_id(), body.current_password, body.new_password
    )
    p = platform()
    sessions.change_password(p.uow(), p.passwords, command, p.now())
    return "", 204


def _tokens(issued: IssuedTokens, now: datetime) -> dict[str, Any]:
    expires_in = issued.access_expires_at - now
    return Tokens(
        access_token=issue_access_token(issued),
        token_type="bearer",
        expires_in=max(0, int(expires_in.total_seconds())),
        refresh_token=issued.refresh_token,
        role=issued.session.role,
    ).json()
