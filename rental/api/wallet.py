"""The rider's wallet and its history; the operator's proof that the books balance."""

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
    Before,
    QueryModel,
    signed_in,
)
from rental.domain.riders import Role
from rental.services import wallet
from rental.services.read_models import AccountTotal
from rental.services.wallet import WalletSummary

WALLET = Tag(name="wallet", description="balances, postings, and the books")
blueprint = APIBlueprint(
    "wallet",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[WALLET],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)
MAX_PAGE = 200  # wallet.postings' limit


class Wallets(AnswerModel):
    wallets: list[WalletSummary] = Field(description="one per currency the rider has used")


@blueprint.get("/wallet", responses={200: Wallets})
@signed_in(Role.RIDER)
def show_wallet() -> dict[str, Any]:
    """Balance, what can be spent, the deposit and any debt, per currency."""
    p = platform()
    summaries = wallet.wallet_summaries(p.uow(), current_user_id(), p.config.WALLET_FLOOR_MINOR)
    return Wallets(wallets=summaries).json()


class PostingsPage(QueryModel):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    before: Before = None


class PostingAnswer(AnswerModel):
    transaction_id: UUID
    transaction_kind: str
    reference: str
    created_at: datetime
    account: str = Field(description="the rider's account: wallet, deposit or receivable")
    currency: str
    amount_minor: int


class Postings(AnswerModel):
    postings: list[PostingAnswer] = Field(description="newest first")


@blueprint.get("/wallet/transactions", responses={200: Postings})
@signed_in(Role.RIDER)
def list_postings(query: PostingsPage) -> dict[str, Any]:
    """The postings on the rider's accounts, newest first, each with its ledger transaction."""
    found = wallet.postings(platform().uow(), current_user_id(), query.limit, query.before)
    answers = [PostingAnswer.model_validate(posting, from_attributes=True) for posting in found]
    return Postings(postings=answers).json()


class BooksAnswer(AnswerModel):
    balanced: bool
    unbalanced: dict[str, int] = Field(description="currency: sum of its postings, if not 0")
    accounts_out_of_step: int
    totals: list[AccountTotal]


@blueprint.get("/ops/books", responses={200: BooksAnswer})
@signed_in(Role.OPERATOR)
def books() -> dict[str, Any]:
    """Proof that the books balance: postings sum to zero per currency, and every rider
    account's running balance equals its postings."""
    report = wallet.books(platform().uow())
    return BooksAnswer.model_validate(report, from_attributes=True).json()
