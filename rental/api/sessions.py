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
from typing import Any

from flask import Blueprint

from rental.api.auth import (
    current_session_id,
    current_user_id,
    issue_access_token,
    requires,
    signed_claims,
)
from rental.api.common import platform
from rental.api.parsing import json_body, string
from rental.domain.errors import NotAuthenticated
from rental.domain.riders import checked_password
from rental.services import sessions
from rental.services.commands.riders import ChangePassword, RefreshSession, SignIn
from rental.services.sessions import IssuedTokens

blueprint = Blueprint("sessions", __name__, url_prefix="/api/v1")

# Ours are 43 characters; anything much longer was never issued.
MAX_REFRESH_TOKEN_LENGTH = 200


@blueprint.post("/auth/token")
def sign_in() -> dict[str, Any]:
    """A new session. Raises NotAuthenticated `bad_credentials` (401), the same for an
    unknown phone as for a wrong password."""
    body = json_body()
    phone, password = body.get("phone"), body.get("password")
    if not isinstance(phone, str) or not isinstance(password, str):
        raise NotAuthenticated("phone and password are required", "bad_credentials")
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    return _tokens(
        sessions.sign_in(p.uow(), p.passwords, lifetimes, SignIn(phone, password), now), now
    )


@blueprint.post("/auth/refresh")
def refresh() -> dict[str, Any]:
    """`{refresh_token}` -> new tokens; the refresh token sent is spent. Raises
    NotAuthenticated (401): `invalid_refresh_token`, `refresh_token_reused` (the session
    is ended: a spent token came back) or `session_ended`."""
    token = string(json_body(), "refresh_token", "refresh_token must be a string")
    if not token or len(token) > MAX_REFRESH_TOKEN_LENGTH:
        raise NotAuthenticated("the refresh token is not valid", "invalid_refresh_token")
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    return _tokens(sessions.refresh(p.uow(), lifetimes, RefreshSession(token), now), now)


@blueprint.post("/auth/logout")
def sign_out() -> tuple[str, int]:
    """End the session the access token names; its refresh token stops working, and so
    do its access tokens. The access token may have expired, and signing out twice is
    fine: 204 either way. Raises NotAuthenticated `missing_token` or `invalid_token`."""
    p = platform()
    sessions.sign_out(p.uow(), signed_claims().session_id, p.now())
    return "", 204


@blueprint.post("/me/password")
@requires(None)
def change_password() -> tuple[str, int]:
    """`{current_password, new_password}`: the new password works from now on, and every
    other session of the account ends. Raises InvalidInput `invalid_password` (400: the new
    one is too short) or Forbidden `wrong_password` (403: the current one is not right)."""
    body = json_body()
    current = string(body, "current_password", "current_password must be a string")
    command = ChangePassword(
        current_user_id(), current_session_id(), current, checked_password(body.get("new_password"))
    )
    p = platform()
    sessions.change_password(p.uow(), p.passwords, command, p.now())
    return "", 204


def _tokens(issued: IssuedTokens, now: datetime) -> dict[str, Any]:
    expires_in = issued.access_expires_at - now
    return {
        "access_token": issue_access_token(issued),
        "token_type": "bearer",
        "expires_in": max(0, int(expires_in.total_seconds())),
        "refresh_token": issued.refresh_token,
        "role": issued.session.role.value,
    }
