"""Commands of the riders context: accounts and the credit score."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.credit import CreditReason
from rental.domain.riders import Role


@dataclass(frozen=True)
class RegisterUser:
    phone: str  # as `rental.domain.riders.normalised_phone` returns it
    password: str  # checked_password: long enough
    name: str  # checked_name: trimmed
    role: Role


@dataclass(frozen=True)
class SignIn:
    phone: str  # as the person typed it
    password: str


@dataclass(frozen=True)
class SendSignInCode:
    phone: str  # as the person typed it


@dataclass(frozen=True)
class SignInWithCode:
    phone: str  # as the person typed it
    code: str
    # The account's password, once, to prove the number of an account made by password
    # sign-up (rental.services.phone_sign_in); None otherwise.
    password: str | None = None


@dataclass(frozen=True)
class SignUpWithCode:
    phone: str  # as the person typed it
    code: str
    name: str  # checked_name: trimmed; may be empty
    password: str | None  # checked_password: long enough; None: none (codes sign in)


@dataclass(frozen=True)
class RecordIncident:
    """An operator confirms what a rider did; once per `reference`."""

    rider_id: UUID
    reason: CreditReason  # one of the reasons operators confirm
    reference: str  # e.g. a damage report's id, 3 to 100 characters


@dataclass(frozen=True)
class RefreshSession:
    refresh_token: str  # as the client holds it: opaque, at most a few hundred characters


@dataclass(frozen=True)
class ChangePassword:
    user_id: UUID
    session_id: UUID  # the session the change is made in: the only one that stays
    current_password: str | None  # None: the account has none yet (made by a code)
    new_password: str  # checked_password: long enough
