"""Sign up, sign in, and the rider's own profile."""

from dataclasses import asdict
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, issue_token, requires
from rental.api.common import platform
from rental.api.parsing import json_body
from rental.domain.credit import EFFECTS, HIGHEST_SCORE, LOWEST_SCORE
from rental.domain.errors import NotAuthenticated
from rental.domain.riders import Role, checked_name, checked_password, normalised_phone
from rental.services import accounts, credit, wallet
from rental.services.commands.riders import RegisterUser, SignIn

blueprint = Blueprint("riders", __name__, url_prefix="/api/v1")


@blueprint.post("/riders")
def register_rider() -> tuple[dict[str, Any], int]:
    body = json_body()
    command = RegisterUser(
        phone=normalised_phone(body.get("phone")),
        name=checked_name(body.get("name")),
        password=checked_password(body.get("password")),
        role=Role.RIDER,
    )
    p = platform()
    user = accounts.register(p.uow(), p.passwords, command)
    return {"id": str(user.id), "phone": user.phone, "name": user.name}, 201


@blueprint.post("/auth/token")
def token() -> dict[str, Any]:
    body = json_body()
    phone, password = body.get("phone"), body.get("password")
    if not isinstance(phone, str) or not isinstance(password, str):
        raise NotAuthenticated("phone and password are required", "bad_credentials")
    p = platform()
    user = accounts.authenticate(p.uow(), p.passwords, SignIn(phone, password))
    return {"access_token": issue_token(user), "token_type": "bearer", "role": user.role.value}


@blueprint.get("/me")
@requires(Role.RIDER)
def me() -> dict[str, Any]:
    p = platform()
    user = accounts.account(p.uow(), current_user_id())
    wallets = wallet.wallet_summaries(p.uow(), user.id, p.config.WALLET_FLOOR_MINOR)
    return {
        "id": str(user.id),
        "phone": user.phone,
        "name": user.name,
        "wallets": [asdict(summary) for summary in wallets],
    }


@blueprint.get("/me/credit")
@requires(Role.RIDER)
def credit_score() -> dict[str, Any]:
    report = credit.credit_report(platform().uow(), current_user_id())
    return {
        "score": report.score,
        "range": {"lowest": LOWEST_SCORE, "highest": HIGHEST_SCORE},
        "history": [
            {
                "at": event.at.isoformat(),
                "reason": event.reason.value,
                "delta": event.delta,
                "score_after": event.score_after,
                "explanation": EFFECTS[event.reason].explanation,
            }
            for event in report.history
        ],
    }
