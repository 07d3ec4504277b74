"""Bearer tokens: signed, expiring, carrying the user's id and role."""

import functools
import uuid
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from rental.api.common import platform
from rental.domain.errors import Forbidden, NotAuthenticated
from rental.domain.riders import Role, User
from rental.services import mds

P = ParamSpec("P")
R = TypeVar("R")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="access-token")


def issue_token(user: User) -> str:
    return str(_serializer().dumps({"sub": str(user.id), "role": user.role.value}))


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send Authorization: Bearer <access_token>", "missing_token")
    return token


def _claims() -> dict[str, Any]:
    token = _bearer_token()
    try:
        claims = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE_SECONDS"])
    except SignatureExpired:
        raise NotAuthenticated("the access token has expired", "token_expired") from None
    except BadSignature:
        raise NotAuthenticated("the access token is not valid", "invalid_token") from None
    return dict(claims)


def requires(role: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            claims = _claims()
            if claims.get("role") != role.value:
                raise Forbidden(f"this needs an account of role {role.value}", "wrong_role")
            g.user_id = uuid.UUID(claims["sub"])
            return view(*args, **kwargs)

        return wrapped

    return decorate


def current_user_id() -> uuid.UUID:
    user_id: uuid.UUID = g.user_id
    return user_id


# MDS clients (a city, or its data contractor) hold a token that never expires on its
# own: it names a client row, and revoking the row ends it.
def _client_serializer(secret_key: str | None = None) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key or current_app.config["SECRET_KEY"], salt="mds-client")


def issue_client_token(client_id: uuid.UUID, secret_key: str | None = None) -> str:
    """`secret_key` outside a request (the command line); the app's own inside one."""
    return str(_client_serializer(secret_key).dumps({"client": str(client_id)}))


def requires_city_client(view: Callable[P, R]) -> Callable[P, R]:
    """The view runs for a live MDS client; `g.city_id` is the only city it may read."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _bearer_token()
        try:
            client_id = uuid.UUID(_client_serializer().loads(token)["client"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise NotAuthenticated("the access token is not valid", "invalid_token") from None
        g.city_id = mds.city_of_client(platform().uow(), client_id)
        return view(*args, **kwargs)

    return wrapped
