"""Sign up, and the rider's own profile (signing in: `rental.api.sessions`)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    SIGNED_IN,
    AnswerModel,
    Password,
    PersonName,
    Phone,
    RequestModel,
    signed_in,
)
from rental.api.phone_sign_in import TypedCode, rules
from rental.api.sessions import Tokens, _tokens
from rental.domain.credit import EFFECTS, HIGHEST_SCORE, LOWEST_SCORE, CreditReason
from rental.domain.errors import InvalidInput
from rental.domain.riders import NO_PASSWORD, Role
from rental.services import accounts, credit, phone_sign_in, wallet
from rental.services.commands.riders import SignUpWithCode
from rental.services.wallet import WalletSummary

RIDERS = Tag(name="riders", description="sign-up, the rider's profile and credit")
blueprint = APIBlueprint("riders", __name__, url_prefix="/api/v1", abp_tags=[RIDERS])


class SignUp(RequestModel):
    phone: Phone
    code: TypedCode | None = Field(
        default=None, description="the code texted by POST /api/v1/auth/sms-codes: required"
    )
    name: PersonName | None = None
    password: Password | None = Field(default=None, description="optional: codes sign in")

    def command(self) -> SignUpWithCode:
        if self.code is None:  # the sign-up of old clients: a password, no proof of the number
            raise InvalidInput(
                "sign-up takes the code texted to the phone: "
                "POST /api/v1/auth/sms-codes {phone} first, then send it here as `code`",
                "code_required",
                "code",
            )
        return SignUpWithCode(self.phone, self.code, self.name or "", self.password)


@blueprint.post("/riders", responses={200: Tokens, 401: SIGNED_IN[401]})
def register_rider(body: SignUp) -> dict[str, Any]:
    """Sign up `{phone, code, name?, password?}` with the code texted to the phone
    (`POST /api/v1/auth/sms-codes`), and sign in: tokens, as `POST /api/v1/auth/token`.

    The code proves the number is the rider's. A number that has an account signs into it
    (its name and password unchanged), so only a number's owner learns that it had one;
    anyone else gets 401 `bad_code` for every number (`rental.services.phone_sign_in`).
    400 `code_required` (a client that sends no code), `invalid_phone`, `invalid_name`,
    `invalid_password`; 401 `bad_code`, `password_required`."""
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    issued = phone_sign_in.sign_up_with_code(
        p.uow(), p.passwords, rules(), lifetimes, body.command(), now
    )
    return _tokens(issued, now)


class Me(AnswerModel):
    id: UUID
    phone: str
    name: str
    has_password: bool = Field(
        description="false for an account made by a code: its first password needs no current one"
    )
    wallets: list[WalletSummary] = Field(description="one per currency the rider has used")


@blueprint.get("/me", security=BEARER, responses={200: Me, **SIGNED_IN})
@signed_in(Role.RIDER)
def me() -> dict[str, Any]:
    """The signed-in rider's profile and wallets."""
    p = platform()
    user = accounts.account(p.uow(), current_user_id())
    wallets = wallet.wallet_summaries(p.uow(), user.id, p.config.WALLET_FLOOR_MINOR)
    has_password = user.password_hash != NO_PASSWORD
    me = Me(
        id=user.id, phone=user.phone, name=user.name, has_password=has_password, wallets=wallets
    )
    return me.json()


class ScoreRange(AnswerModel):
    lowest: int
    highest: int


class CreditChange(AnswerModel):
    at: datetime
    reason: CreditReason
    delta: int
    score_after: int
    explanation: str


class CreditScore(AnswerModel):
    score: int
    range: ScoreRange
    history: list[CreditChange] = Field(description="newest first")


@blueprint.get("/me/credit", security=BEARER, responses={200: CreditScore, **SIGNED_IN})
@signed_in(Role.RIDER)
def credit_score() -> dict[str, Any]:
    """The rider's credit score and each change of it, explained."""
    report = credit.credit_report(platform().uow(), current_user_id())
    history = [
        CreditChange(
            at=event.at,
            reason=event.reason,
            delta=event.delta,
            score_after=event.score_after,
            explanation=EFFECTS[event.reason].explanation,
        )
        for event in report.history
    ]
    score_range = ScoreRange(lowest=LOWEST_SCORE, highest=HIGHEST_SCORE)
    return CreditScore(score=report.score, range=score_range, history=history).json()
