"""Sign up, sign in, and the rider's own profile."""

from dataclasses import asdict
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, issue_token, requires
from rental.api.common import json_body, platform
from rental.domain.credit import EFFECTS, HIGHEST_SCORE, LOWEST_SCORE, CreditReason
from rental.domain.errors import NotFound
from rental.domain.riders import Role
from rental.services import accounts, wallet

blueprint = Blueprint("riders", __name__, url_prefix="/api/v1")


@blueprint.post("/riders")
def register_rider() -> tuple[dict[str, Any], int]:
    body = json_body()
    user = accounts.register(
        platform().uow(), body.get("phone"), body.get("password"), body.get("name"), Role.RIDER
    )
    return {"id": str(user.id), "phone": user.phone, "name": user.name}, 201


@blueprint.post("/auth/token")
def token() -> dict[str, Any]:
    body = json_body()
    user = accounts.authenticate(platform().uow(), body.get("phone"), body.get("password"))
    return {"access_token": issue_token(user), "token_type": "bearer", "role": user.role.value}


@blueprint.get("/me")
@requires(Role.RIDER)
def me() -> dict[str, Any]:
    p = platform()
    with p.uow() as uow:
        user = uow.users.get(current_user_id())
    if user is None:
        raise NotFound("this account no longer exists", "account_not_found")
    wallets = wallet.wallet_summaries(p.uow(), user.id, p.config.WALLET_FLOOR_MINOR)
    return {
        "id": str(user.id),
        "phone": user.phone,
        "name": user.name,
        "wallets": [asdict(summary) for summary in wallets],
    }


@blueprint.get("/me/credit")
@requires(Role.RIDER)
def credit() -> dict[str, Any]:
    with platform().uow() as uow:
        score = uow.credit.score(current_user_id())
        history = uow.credit.history(current_user_id())
    return {
        "score": score,
        "range": {"lowest": LOWEST_SCORE, "highest": HIGHEST_SCORE},
        "history": [
            {
                "at": event["created_at"].isoformat(),
                "reason": event["reason"],
                "delta": event["delta"],
                "score_after": event["score_after"],
                "explanation": EFFECTS[CreditReason(event["reason"])].explanation,
            }
            for event in history
        ],
    }
