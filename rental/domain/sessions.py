"""Sessions: one signed-in device of one account, and the tokens that prove it.

A sign-in opens a session. The client gets a short-lived access token, which names the
session, and an opaque refresh token, which buys the next pair. Only a hash of each
refresh token is kept: a copy of the database lets nobody sign in. Refresh tokens are
random (256 bits), so a fast hash (SHA-256) is enough; a slow one is for passwords,
which people choose.

How long tokens live depends on the role: operators can do more, so theirs are shorter.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from rental.domain.riders import Role

REFRESH_TOKEN_BYTES = 32


class SessionEnd(StrEnum):
    """Why a session ended before its refresh token expired."""

    SIGNED_OUT = "signed_out"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"
    PASSWORD_CHANGED = "password_changed"


@dataclass(frozen=True)
class TokenLifetimes:
    """Seconds an access token and a refresh token live, per role (settings)."""

    rider_access_seconds: int
    rider_refresh_seconds: int
    operator_access_seconds: int
    operator_refresh_seconds: int

    def access(self, role: Role) -> timedelta:
        match role:
            case Role.RIDER:
                return timedelta(seconds=self.rider_access_seconds)
            case Role.OPERATOR:
                return timedelta(seconds=self.operator_access_seconds)
            case _:
                assert_never(role)

    def longest_refresh(self) -> timedelta:
        return timedelta(seconds=max(self.rider_refresh_seconds, self.operator_refresh_seconds))

    def refresh(self, role: Role) -> timedelta:
        match role:
            case Role.RIDER:
                return timedelta(seconds=self.rider_refresh_seconds)
            case Role.OPERATOR:
                return timedelta(seconds=self.operator_refresh_seconds)
            case _:
                assert_never(role)


@dataclass
class Session:
    id: UUID
    user_id: UUID
    role: Role
    created_at: datetime
    # When the newest refresh token stops working; each refresh moves it on.
    expires_at: datetime
    ended_at: datetime | None = None
    ended_because: SessionEnd | None = None

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def refresh_token_hash(token: str) -> bytes:
    """What is stored of a refresh token, and what it is looked up by."""
    return hashlib.sha256(token.encode()).digest()
