"""Sign up, and the rider's own profile (signing in: `rental.api.sessions`)."""

from dataclasses import asdict
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, requires
from rental.api.common import platform
from rental.api.parsing import json_body
from rental.domain.credit import EFFECTS, HIGHEST_SCORE, LOWEST_SCORE
from rental.domain.riders import Role, checked_name, checked_password, normalised_phone
from rental.services import accounts, credit, wallet
from rental.services.commands.riders import RegisterUser

blueprint = Blueprint("riders", __name__, url_prefix="/api/v1")


@blueprint.post("/riders")
def register_rider() -> tuple[dict[str, Any], int]:
    """Sign up `{phone, password, name}` -> 202 `{phone, next: "sign_in"}`, then sign in
    (`POST /api/v1/auth/token`). The answer is the same whether or not the phone has an
    account, so it tells nobody which numbers are registered; if it has one, that account
    is unchanged and its owner is told (`rental.services.accounts.sign_up`). Raises
    InvalidInput (400) `invalid_phone`, `invalid_name` or `invalid_password`."""
    body = json_body()
    command = RegisterUser(
        phone=normalised_phone(body.get("phone")),
        name=checked_name(body.get("name")),
        password=checked_password(body.get("password")),
        role=Role.RIDER,
    )
    p = platform()
    accounts.sign_up(p.uow(), p.passwords, p.account_notices, command)
    return {"phone": command.phone, "next": "sign_in"}, 202


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
