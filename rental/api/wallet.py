"""The rider's wallet and its history; the operator's proof that the books balance."""

from dataclasses import asdict
from typing import Any

from flask import Blueprint

from rental.api.auth import current_user_id, requires
from rental.api.common import platform
from rental.api.parsing import page_args
from rental.domain.riders import Role
from rental.services import wallet

blueprint = Blueprint("wallet", __name__, url_prefix="/api/v1")


@blueprint.get("/wallet")
@requires(Role.RIDER)
def show_wallet() -> dict[str, Any]:
    p = platform()
    summaries = wallet.wallet_summaries(p.uow(), current_user_id(), p.config.WALLET_FLOOR_MINOR)
    return {"wallets": [asdict(summary) for summary in summaries]}


@blueprint.get("/wallet/transactions")
@requires(Role.RIDER)
def list_postings() -> dict[str, Any]:
    """The postings on the rider's accounts, newest first, each with its ledger transaction."""
    limit, before_at = page_args(50)
    found = wallet.postings(platform().uow(), current_user_id(), limit, before_at)
    return {
        "postings": [
            {
                **asdict(posting),
                "transaction_id": str(posting.transaction_id),
                "created_at": posting.created_at.isoformat(),
            }
            for posting in found
        ]
    }


@blueprint.get("/ops/books")
@requires(Role.OPERATOR)
def books() -> dict[str, Any]:
    return asdict(wallet.books(platform().uow()))
