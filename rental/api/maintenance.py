"""Damage reports from riders; operators close them and put assets back in service."""

from datetime import datetime
from typing import Annotated, Any, Self
from uuid import UUID

from flask_openapi3 import APIBlueprint, Tag
from pydantic import ConfigDict, Field, StrictBool, StringConstraints, model_validator
from pydantic.config import JsonDict

from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_BLANK,
    NOT_FOUND,
    SIGNED_IN,
    Absent,
    AnswerModel,
    CityId,
    CodePath,
    Latitude,
    Longitude,
    NotNull,
    Qr,
    QueryModel,
    RequestModel,
    domain_rule,
    explained,
    refusal,
    signed_in,
)
from rental.domain.errors import InvalidInput
from rental.domain.maintenance import (
    MAX_NOTE_LENGTH,
    DamageCategory,
    DamageReport,
    RebalanceStep,
    ReportState,
    checked_note,
)
from rental.domain.riders import Role
from rental.services import maintenance
from rental.services.commands.maintenance import (
    CloseAssetReports,
    CloseDamageReport,
    ListDamageReports,
    RebalanceAsset,
    ReportDamage,
    UpdateAsset,
)

MAINTENANCE = Tag(name="maintenance", description="damage reports and assets in service")
blueprint = APIBlueprint(
    "maintenance",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[MAINTENANCE],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

Note = Annotated[
    str,
    StringConstraints(max_length=MAX_NOTE_LENGTH, pattern=r"^[^\x00]*$"),
    explained(f"a text of at most {MAX_NOTE_LENGTH} characters"),
    domain_rule(checked_note),
]


def _resolution(value: str) -> str:
    resolution = checked_note(value, "resolution")
    if resolution is None:  # only blanks
        raise InvalidInput("resolution says what was done (repaired, no fault found, ...)")
    return resolution


ResolutionText = Annotated[
    str,
    StringConstraints(max_length=MAX_NOTE_LENGTH, pattern=NOT_BLANK),
    explained(f"resolution says what was done, in at most {MAX_NOTE_LENGTH} characters"),
    domain_rule(_resolution),
    Field(description="what was done: repaired, no fault found, ..."),
]
PhotoRef = Annotated[
    UUID,
    explained("photo_ref is the photo_ref answered by POST /api/v1/damage-photos"),
    Field(description="a photo this rider uploaded (POST /api/v1/damage-photos)"),
]
OPS_PHOTOS = "/api/v1/ops/damage-photos/"


def photo_url(report: DamageReport) -> str | None:
    """Where operators fetch the report's photo; None without one, or for a reference that
    names no stored photo (reports from before photos were stored)."""
    if report.photo_ref is None:
        return None
    try:
        return OPS_PHOTOS + str(UUID(report.photo_ref))
    except ValueError:
        return None


class ReportFields(AnswerModel):
    id: UUID
    category: DamageCategory
    photo_ref: str | None = Field(description="the photo's id (older reports: a free text)")
    photo_url: str | None = Field(description="operators: GET it for the photo itself")
    note: str | None
    state: ReportState
    created_at: datetime
    closed_at: datetime | None
    resolution: str | None


def _fields(report: DamageReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "category": report.category,
        "photo_ref": report.photo_ref,
        "photo_url": photo_url(report),
        "note": report.note,
        "state": report.state,
        "created_at": report.created_at,
        "closed_at": report.closed_at,
        "resolution": report.resolution,
    }


class DamageReportAnswer(ReportFields):
    asset_id: UUID


def report_answer(report: DamageReport) -> DamageReportAnswer:
    return DamageReportAnswer(asset_id=report.asset_id, **_fields(report))


class DamageReportRequest(RequestModel):
    code: Qr
    category: DamageCategory
    photo_ref: PhotoRef | None = None
    note: Note | None = None

    def command(self, reporter_id: UUID) -> ReportDamage:
        return ReportDamage(reporter_id, self.code, self.category, self.photo_ref, self.note)


@blueprint.post(
    "/damage-reports",
    responses={200: DamageReportAnswer, 201: DamageReportAnswer, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.RIDER)
def report_damage(body: DamageReportRequest) -> tuple[dict[str, Any], int]:
    """Report damage on an asset; 201, or 200 with the open report a repeat finds."""
    p = platform()
    command, rules = body.command(current_user_id()), p.config.reporting_rules()
    report, new = maintenance.report_damage(p.uow(), command, p.now(), rules)
    return report_answer(report).json(), 201 if new else 200


class ReportsQuery(QueryModel):
    city_id: CityId | Absent = None
    state: ReportState | Absent = Field(None, description="open and closed if absent")

    def command(self) -> ListDamageReports:
        return ListDamageReports(self.city_id, self.state)


class ListedReport(ReportFields):
    asset_code: str
    city_id: str


class ReportList(AnswerModel):
    reports: list[ListedReport]


@blueprint.get("/ops/damage-reports", responses={200: ReportList})
@signed_in(Role.OPERATOR)
def list_reports(query: ReportsQuery) -> dict[str, Any]:
    """Damage reports, for operators, by city and state."""
    found = maintenance.damage_reports(platform().lagging_uow(), query.command())
    listed = [
        ListedReport(asset_code=entry.asset_code, city_id=entry.city_id, **_fields(entry.report))
        for entry in found
    ]
    return ReportList(reports=listed).json()


class ReportPath(RequestModel):
    report_id: UUID


class Closing(RequestModel):
    resolution: ResolutionText

    def command(self, operator_id: UUID, report_id: UUID) -> CloseDamageReport:
        return CloseDamageReport(operator_id, report_id, self.resolution)


@blueprint.post(
    "/ops/damage-reports/<report_id>/close",
    responses={200: DamageReportAnswer, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.OPERATOR)
def close_report(path: ReportPath, body: Closing) -> dict[str, Any]:
    """Close a report with what was done; the asset returns to riders if nothing else
    keeps it out."""
    p = platform()
    command = body.command(current_user_id(), path.report_id)
    return report_answer(maintenance.close_report(p.uow(), command, p.now())).json()


class ClosedReports(AnswerModel):
    asset_code: str
    closed: list[DamageReportAnswer] = Field(description="empty when none was open")


@blueprint.post(
    "/ops/assets/<code>/damage-reports/close", responses={200: ClosedReports, **NOT_FOUND}
)
@signed_in(Role.OPERATOR)
def close_asset_reports(path: CodePath, body: Closing) -> dict[str, Any]:
    """Close every open report on the asset at once, with what was done."""
    p = platform()
    command = CloseAssetReports(current_user_id(), path.code, body.resolution)
    closed = maintenance.close_asset_reports(p.uow(), command, p.now())
    answers = [report_answer(report) for report in closed]
    return ClosedReports(asset_code=path.code, closed=answers).json()


class AssetChange(RequestModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"minProperties": 1})

    in_service: Annotated[StrictBool | None, NotNull()] = None
    needs_retrieval: Annotated[StrictBool | None, NotNull()] = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.in_service is None and self.needs_retrieval is None:
            raise refusal("invalid_input", "give in_service and/or needs_retrieval")
        return self

    def command(self, code: str) -> UpdateAsset:
        return UpdateAsset(code, self.in_service, self.needs_retrieval)


class AssetState(AnswerModel):
    code: str
    in_service: bool


@blueprint.patch("/ops/assets/<code>", responses={200: AssetState, **NOT_FOUND, **CONFLICT})
@signed_in(Role.OPERATOR)
def update_asset(path: CodePath, body: AssetChange) -> dict[str, Any]:
    """`{in_service?, needs_retrieval?}`: take out of service, return, mark as retrieved."""
    p = platform()
    asset = maintenance.update_asset(p.uow(), body.command(path.code), p.now())
    return AssetState(code=asset.code, in_service=asset.in_service).json()


# lon and lat together or neither (JSON Schema's dependentRequired, which the document's
# schema objects do not carry, said with anyOf and not).
LON: JsonDict = {"required": ["lon"]}
LAT: JsonDict = {"required": ["lat"]}
BOTH: JsonDict = {"required": ["lon", "lat"]}


class Rebalancing(RequestModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"anyOf": [BOTH, {"not": {"anyOf": [LON, LAT]}}]},
    )

    action: RebalanceStep
    lon: Annotated[Longitude | None, NotNull()] = None
    lat: Annotated[Latitude | None, NotNull()] = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.lon is None) != (self.lat is None):
            message = "lon and lat, when given, are WGS 84 degrees"
            raise refusal("invalid_position", message, "lon" if self.lon is None else "lat")
        return self

    def command(self, code: str) -> RebalanceAsset:
        position = None if self.lon is None or self.lat is None else (self.lon, self.lat)
        return RebalanceAsset(code, self.action, position)


@blueprint.post(
    "/ops/assets/<code>/rebalance", responses={200: AssetState, **NOT_FOUND, **CONFLICT}
)
@signed_in(Role.OPERATOR)
def rebalance(path: CodePath, body: Rebalancing) -> dict[str, Any]:
    """`{action: pick_up | drop_off, lon?, lat?}`: a truck crew moves a bike; without a
    position, the lock's own report is where it is."""
    p = platform()
    asset = maintenance.rebalance(p.uow(), body.command(path.code), p.now())
    return AssetState(code=asset.code, in_service=asset.in_service).json()
