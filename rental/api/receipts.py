"""Receipts (JSON and a printable page with a QR code that opens them in the rider app) and
disputes."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from flask import Response, current_app, request
from flask_openapi3 import APIBlueprint, Tag
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import Field, StringConstraints

from rental.api.answers import Price, price
from rental.api.auth import current_user_id, requires
from rental.api.common import platform, qr_image
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    AmountMinor,
    AnswerModel,
    LongText,
    QueryModel,
    RentalIdPath,
    RequestModel,
    explained,
    signed_in,
)
from rental.api.printable_receipt import Words, app_receipt_url, language_for, printable_page
from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import NotAuthenticated
from rental.domain.pricing import FareLine
from rental.domain.riders import Role
from rental.services import disputes, receipts, rentals
from rental.services.commands.money import OpenDispute, ResolveDispute

RECEIPTS = Tag(name="receipts", description="receipts, and disputes of a fare")
blueprint = APIBlueprint("receipts", __name__, url_prefix="/api/v1", abp_tags=[RECEIPTS])
SIGNED: dict[str, Any] = {"security": BEARER}
PRINTABLE = {
    "description": "a printable HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _receipt(rental_id: UUID) -> receipts.Receipt:
    return receipts.receipt_for(platform().uow(), current_user_id(), rental_id)


def _receipt_url(rental_id: str) -> str:
    return f"{platform().config.PUBLIC_BASE_URL.rstrip('/')}/api/v1/rentals/{rental_id}/receipt"


# A printable receipt opens in a tab of its own, as a plain link that cannot carry the
# rider's bearer token: the link carries a signature instead, naming the rider and the
# rental, and good for a short while (long enough to open and print, too short to be worth
# passing around; the API answers it `Cache-Control: no-store` and `Referrer-Policy:
# no-referrer`, so it stays out of caches and other sites' logs).
PRINTABLE_LINK_SECONDS = 15 * 60
PRINTABLE_LINK_SALT = "printable-receipt-link"


def _link_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=PRINTABLE_LINK_SALT)


def printable_link(rider_id: UUID, rental_id: UUID) -> str:
    """A signed, short-lived (PRINTABLE_LINK_SECONDS) link to one rider's printable receipt."""
    expires = platform().now() + timedelta(seconds=PRINTABLE_LINK_SECONDS)
    claims = {"sub": str(rider_id), "rental": str(rental_id), "exp": int(expires.timestamp())}
    return f"{_receipt_url(str(rental_id))}.html?link={_link_signer().dumps(claims)}"


def reader_of_link(link: str, rental_id: UUID) -> UUID:
    """The rider a printable-receipt link was made for, if it is ours, for this rental and
    not expired. Raises NotAuthenticated `invalid_link` or `link_expired`."""
    try:
        claims = _link_signer().loads(link)
        rider_id, linked = UUID(claims["sub"]), UUID(claims["rental"])
        expires_at = int(claims["exp"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotAuthenticated("this receipt link is not valid", "invalid_link") from None
    if linked != rental_id:
        raise NotAuthenticated("this receipt link is for another rental", "invalid_link")
    if platform().now().timestamp() >= expires_at:
        raise NotAuthenticated(
            "this receipt link has expired: open the receipt in the app again", "link_expired"
        )
    return rider_id


class DisputeAnswer(AnswerModel):
    id: UUID
    rental_id: UUID
    reason: str
    state: DisputeState
    refund_minor: int
    note: str | None
    created_at: datetime | None
    resolved_at: datetime | None


def dispute_answer(dispute: Dispute) -> DisputeAnswer:
    return DisputeAnswer(
        id=dispute.id,
        rental_id=dispute.rental_id,
        reason=dispute.reason,
        state=dispute.state,
        refund_minor=dispute.refund_minor,
        note=dispute.note,
        created_at=dispute.created_at,
        resolved_at=dispute.resolved_at,
    )


class ReceiptAsset(AnswerModel):
    code: str
    kind: str


class ReceiptAnswer(AnswerModel):
    number: str
    rental_id: UUID
    asset: ReceiptAsset
    started_at: datetime | None
    ended_at: datetime | None
    time_zone: str = Field(description="the city's IANA time zone, in which riders read times")
    duration_s: int | None
    distance_m: float | None
    currency: str
    lines: list[FareLine] = Field(description="they add up to total_minor")
    price: Price
    total_minor: int
    paid_from_wallet_minor: int
    owed_minor: int = Field(description="left as debt when the trip ended")
    refunded_minor: int
    disputes: list[DisputeAnswer]
    url: str
    printable_url: str = Field(
        description="the printable page, signed for this rider: it opens without a token "
        "for 15 minutes"
    )
    qr: str = Field(
        description="a QR code of the rider app's screen of this receipt (which asks the "
        "rider to sign in), as an SVG data URI"
    )


@blueprint.get(
    "/rentals/<rental_id>/receipt",
    **SIGNED,
    responses={200: ReceiptAnswer, **SIGNED_IN, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.RIDER)
def receipt_json(path: RentalIdPath) -> dict[str, Any]:
    """An ended rental's itemised receipt; 409 `receipt_not_ready` before it ends."""
    receipt = _receipt(path.rental_id)
    rental = receipt.rental
    url = _receipt_url(str(rental.id))
    return ReceiptAnswer(
        number=receipt.number,
        rental_id=rental.id,
        asset=ReceiptAsset(code=receipt.asset_code, kind=receipt.asset_kind),
        started_at=rental.started_at,
        ended_at=rental.ended_at,
        time_zone=receipt.time_zone,
        duration_s=rental.duration_seconds,
        distance_m=None if rental.distance_m is None else round(rental.distance_m, 1),
        currency=rental.tariff.currency,
        lines=receipt.lines,
        price=price(rental.tariff),
        total_minor=receipt.total_minor,
        paid_from_wallet_minor=receipt.paid_from_wallet_minor,
        owed_minor=receipt.owed_minor,
        refunded_minor=receipt.refunded_minor,
        disputes=[dispute_answer(d) for d in receipt.disputes],
        url=url,
        printable_url=printable_link(current_user_id(), rental.id),
        qr=qr_image(app_receipt_url(platform().config.PUBLIC_BASE_URL, str(rental.id))),
    ).json()


class PrintableQuery(QueryModel):
    link: str | None = Field(None, max_length=1000, description="a signed `printable_url`")
    lang: str | None = Field(
        None,
        max_length=35,
        description="the page's language (en, zh-CN); the browser's Accept-Language otherwise",
    )


@blueprint.get(
    "/rentals/<rental_id>/receipt.html",
    **SIGNED,
    responses={200: PRINTABLE, **SIGNED_IN, **NOT_FOUND, **CONFLICT},
)
def receipt_page(path: RentalIdPath, query: PrintableQuery) -> Response:
    """The receipt as a printable page in the rider's language (`lang`, else the browser's
    Accept-Language), with a QR code that opens it in the rider app: for the rider's bearer
    token, or with the signed `link` of the JSON receipt's `printable_url` (no token; a
    link names its rider and rental, so it opens that rider's receipt only). Raises 401
    `invalid_link` or `link_expired` for a link that is not one."""
    if query.link is None:
        return requires(Role.RIDER)(_printable_page)(current_user_id, path.rental_id, query.lang)
    rider_id = reader_of_link(query.link, path.rental_id)
    return _printable_page(lambda: rider_id, path.rental_id, query.lang)


def _printable_page(reader: Callable[[], UUID], rental_id_: UUID, asked: str | None) -> Response:
    p, rider_id = platform(), reader()
    receipt = receipts.receipt_for(p.uow(), rider_id, rental_id_)
    route = rentals.trace_of(p.uow(), rider_id, rental_id_, p.now()).path or []
    words = Words(language_for(asked, request.accept_languages.values()))
    app_url = app_receipt_url(p.config.PUBLIC_BASE_URL, str(rental_id_))
    return Response(printable_page(receipt, route, words, app_url), mimetype="text/html")


DisputeReason = Annotated[
    str,
    StringConstraints(min_length=3, max_length=1000, pattern=r"^\s*[^\s\x00][^\x00]+[^\s\x00]\s*$"),
    explained("reason must be 3 to 1000 characters", "invalid_reason"),
    Field(description="what was wrong with the fare"),
]


class DisputeRequest(RequestModel):
    reason: DisputeReason

    def command(self, rider_id: UUID, rental_id: UUID) -> OpenDispute:
        return OpenDispute(rider_id, rental_id, self.reason)


@blueprint.post(
    "/rentals/<rental_id>/disputes",
    **SIGNED,
    responses={201: DisputeAnswer, **SIGNED_IN, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.RIDER)
def open_dispute(path: RentalIdPath, body: DisputeRequest) -> tuple[dict[str, Any], int]:
    """Contest an ended rental's fare; an operator refunds all, part or nothing."""
    command = body.command(current_user_id(), path.rental_id)
    p = platform()
    return dispute_answer(disputes.open_dispute(p.uow(), command, p.now())).json(), 201


class DisputesQuery(QueryModel):
    state: DisputeState = DisputeState.OPEN


class DisputeList(AnswerModel):
    disputes: list[DisputeAnswer]


@blueprint.get("/ops/disputes", **SIGNED, responses={200: DisputeList, **SIGNED_IN})
@signed_in(Role.OPERATOR)
def list_disputes(query: DisputesQuery) -> dict[str, Any]:
    """Disputes in one state (`open` by default), for operators."""
    found = disputes.disputes_in_state(platform().uow(), query.state)
    return DisputeList(disputes=[dispute_answer(d) for d in found]).json()


class DisputePath(RequestModel):
    dispute_id: UUID


RefundMinor = Annotated[
    AmountMinor,
    explained("refund_minor is the amount to refund in minor units (0: none)", "invalid_refund"),
]


class Resolution(RequestModel):
    refund_minor: RefundMinor
    note: LongText = ""

    def command(self, dispute_id: UUID) -> ResolveDispute:
        return ResolveDispute(dispute_id, self.refund_minor, self.note)


@blueprint.post(
    "/ops/disputes/<dispute_id>/resolution",
    **SIGNED,
    responses={200: DisputeAnswer, **SIGNED_IN, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.OPERATOR)
def resolve_dispute(path: DisputePath, body: Resolution) -> dict[str, Any]:
    """Refund `refund_minor` (up to what was paid and not yet refunded; 0 rejects) with a
    `note`; repeating the same resolution answers the first."""
    p = platform()
    command = body.command(path.dispute_id)
    dispute = disputes.resolve_dispute(p.uow(), command, p.now(), p.config.WALLET_FLOOR_MINOR)
    return dispute_answer(dispute).json()
