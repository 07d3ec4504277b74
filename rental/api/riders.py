"""Sign up, and the rider's own profile (signing in: `rental.api.sessions`)."""

from datetime import datetime
from typing import Any, Literal
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
from rental.domain.credit import EFFECTS, HIGHEST_SCORE, LOWEST_SCORE, CreditReason
from rental.domain.riders import Role
from rental.services import accounts, credit, wallet
from rental.services.commands.riders import RegisterUser
from rental.services.wallet import WalletSummary

RIDERS = Tag(name="riders", description="sign-up, the rider's profile and credit")
blueprint = APIBlueprint("riders", __name__, url_prefix="/api/v1", abp_tags=[RIDERS])


class SignUp(RequestModel):
    phone: Phone
    password: Password
    name: PersonName

    def command(self) -> RegisterUser:
        return RegisterUser(self.phone, self.password, self.name, Role.RIDER)


class SignUpTaken(AnswerModel):
    phone: str = Field(description="the number as stored: without spaces and hyphens")
    next: Literal["sign_in"]


@blueprint.post("/riders", responses={202: SignUpTaken})
def register_rider(body: SignUp) -> tuple[dict[str, Any], int]:
    """Sign up `{phone, password, name}`, then sign in (`POST /api/v1/auth/token`).

    The answer is the same whether or not the phone has an account, so it tells nobody
    which numbers are registered; if it has one, that account is unchanged and its owner
    is told (`rental.services.accounts.sign_up`). 400 `invalid_phone`, `invalid_name` or
    `invalid_password` otherwise."""
    p = platform()
    command = body.command()
    accounts.sign_up(p.uow(), p.passwords, p.account_notices, command)
    return SignUpTaken(phone=command.phone, next="sign_in").json(), 202


class Me(AnswerModel):
    id: UUID
    phone: str
    name: str
    wallets: list[WalletSummary] = Field(description="one per currency the rider has used")


@blueprint.get("/me", security=BEARER, responses={200: Me, **SIGNED_IN})
@signed_in(Role.RIDER)
def me() -> dict[str, Any]:
    """The signed-in rider's profile and wallets."""
    p = platform()
    user = accounts.account(p.uow(), current_user_id())
    wallets = wallet.wallet_summaries(p.uow(), user.id, p.config.WALLET_FLOOR_MINOR)
    return Me(id=user.id, phone=user.phone, name=user.name, wallets=wallets).json()


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
