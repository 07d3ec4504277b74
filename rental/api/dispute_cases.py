"""One dispute as an operator judges it: the fare's lines, the route, where the ride was
parked and the rider's recent history (counts only: no phone number, no name)."""

from datetime import datetime
from typing import Any

from flask_openapi3 import APIBlueprint
from pydantic import Field

from rental.api.answers import Money
from rental.api.common import platform
from rental.api.contract import BEARER, NOT_FOUND, SIGNED_IN, AnswerModel, signed_in
from rental.api.receipts import RECEIPTS, DisputeAnswer, DisputePath, ReceiptAsset, dispute_answer
from rental.api.rentals import LineString
from rental.domain.pricing import FareLine
from rental.domain.rider_history import RiderHistory
from rental.domain.riders import Role
from rental.domain.zones import Parking, ZoneKind
from rental.services import dispute_cases, receipts

blueprint = APIBlueprint(
    "dispute_cases", __name__, url_prefix="/api/v1", abp_tags=[RECEIPTS], abp_security=BEARER
)


class CaseReceipt(AnswerModel):
    number: str
    asset: ReceiptAsset
    city_id: str
    time_zone: str = Field(description="the city's IANA time zone")
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    distance_m: float | None
    currency: str
    lines: list[FareLine] = Field(description="they add up to total_minor")
    total_minor: int
    paid_from_wallet_minor: int
    owed_minor: int
    refunded_minor: int
    refundable_minor: int = Field(description="what a refund may still give back")


class Parked(AnswerModel):
    position: tuple[float, float] | None = Field(
        description="[lon, lat] in WGS 84 where the ride ended; null: the lock gave none"
    )
    outcome: Parking | None = Field(description="the verdict given when the ride ended")
    message: str | None
    position_doubt: str | None
    zones: list[ZoneKind] = Field(description="kinds of the city's zones covering it now")
    inside_service_area: bool | None = Field(description="by the zones now; null: no position")


class HistoryAnswer(AnswerModel):
    window_days: int = Field(description="rides, failed unlocks and parking fees count in it")
    rides: int
    failed_unlocks: int
    parking_fees: int
    disputes_opened: int = Field(description="ever, this one included")
    disputes_open: int
    disputes_refunded: int
    disputes_rejected: int
    refunded: list[Money] = Field(description="ever, one entry per currency")
    account_age_days: int | None
    credit_score: int


class DisputeCaseAnswer(AnswerModel):
    dispute: DisputeAnswer
    receipt: CaseReceipt
    route: LineString | None = Field(description="the ride's trace; null before two fixes")
    parked: Parked
    history: HistoryAnswer


@blueprint.get(
    "/ops/disputes/<dispute_id>",
    responses={200: DisputeCaseAnswer, **SIGNED_IN, **NOT_FOUND},
)
@signed_in(Role.OPERATOR)
def dispute_case(path: DisputePath) -> dict[str, Any]:
    """One dispute with what judging it needs: the receipt's lines, the route, where the
    ride was parked and the rider's history; 404 `dispute_not_found`."""
    p = platform()
    case = dispute_cases.dispute_case(p.uow(), path.dispute_id, p.now())
    return DisputeCaseAnswer(
        dispute=dispute_answer(case.dispute),
        receipt=_receipt(case.receipt),
        route=None if case.route is None else LineString(type="LineString", coordinates=case.route),
        parked=_parked(case.parked),
        history=_history(case.history),
    ).json()


def _receipt(receipt: receipts.Receipt) -> CaseReceipt:
    rental = receipt.rental
    return CaseReceipt(
        number=receipt.number,
        asset=ReceiptAsset(code=receipt.asset_code, kind=receipt.asset_kind),
        city_id=receipt.city_id,
        time_zone=receipt.time_zone,
        started_at=rental.started_at,
        ended_at=rental.ended_at,
        duration_s=rental.duration_seconds,
        distance_m=None if rental.distance_m is None else round(rental.distance_m, 1),
        currency=rental.tariff.currency,
        lines=receipt.lines,
        total_minor=receipt.total_minor,
        paid_from_wallet_minor=receipt.paid_from_wallet_minor,
        owed_minor=receipt.owed_minor,
        refunded_minor=receipt.refunded_minor,
        refundable_minor=max(0, receipt.total_minor - receipt.refunded_minor),
    )


def _parked(parked: dispute_cases.ParkedAt) -> Parked:
    return Parked(
        position=parked.position,
        outcome=parked.parking,
        message=parked.message,
        position_doubt=parked.doubt,
        zones=sorted(parked.zones),
        inside_service_area=parked.inside_service_area,
    )


def _history(history: RiderHistory) -> HistoryAnswer:
    refunded = [
        Money(amount_minor=amount, currency=currency)
        for currency, amount in sorted(history.refunded_minor.items())
    ]
    return HistoryAnswer(
        window_days=history.window_days,
        rides=history.rides,
        failed_unlocks=history.failed_unlocks,
        parking_fees=history.parking_fees,
        disputes_opened=history.disputes_opened,
        disputes_open=history.disputes_open,
        disputes_refunded=history.disputes_refunded,
        disputes_rejected=history.disputes_rejected,
        refunded=refunded,
        account_age_days=history.account_age_days,
        credit_score=history.credit_score,
    )
