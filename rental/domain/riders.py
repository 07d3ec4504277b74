"""Riders and operators: the people who use the platform."""

import re
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import InvalidInput


class Role(StrEnum):
    RIDER = "rider"
    OPERATOR = "operator"


@dataclass
class User:
    id: UUID
    phone: str
    name: str
    role: Role
    password_hash: str
    # Whether a code texted to `phone` was typed back: password sign-up never proved it.
    phone_proven: bool = False


# An account made by a code texted to its phone has no password until its owner sets one;
# no password hash has this form, so no password matches it.
NO_PASSWORD = "!"

# A phone number as people type it: 6 to 15 digits, an optional leading +, and any spaces
# or hyphens among them. (The API publishes this pattern as the rule.)
PHONE = re.compile(r"^[ -]*\+?(?:[ -]*[0-9]){6,15}[ -]*$")
MIN_PASSWORD_LENGTH = 8
# Long enough for any passphrase; a longer one is no stronger, only dearer to hash.
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 100


def compact_phone(phone: str) -> str:
    """A phone number as stored: without the spaces and hyphens people write it with.
    Signing up and signing in both go through here, so the two never disagree."""
    return phone.replace(" ", "").replace("-", "")


def normalised_phone(phone: object) -> str:
    if not isinstance(phone, str):
        raise InvalidInput("phone must be a string", "invalid_phone")
    if not PHONE.fullmatch(phone):
        raise InvalidInput(
            "phone must be 6 to 15 digits, optionally with a leading +", "invalid_phone"
        )
    return compact_phone(phone)


PASSWORD_RULE = (
    f"password must be a string of {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
)


def checked_password(password: object) -> str:
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        raise InvalidInput(PASSWORD_RULE, "invalid_password")
    return password


def checked_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be 1 to {MAX_NAME_LENGTH} characters", "invalid_name")
    return name.strip()
