"""Commands of maintenance: damage reports, assets in and out of service, trucks moving bikes."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.maintenance import DamageCategory, RebalanceStep, ReportState


@dataclass(frozen=True)
class ReportDamage:
    reporter_id: UUID
    asset_code: str  # as rental.domain.fleet.asset_code_from_qr read it
    category: DamageCategory
    photo_ref: str | None
    note: str | None


@dataclass(frozen=True)
class CloseDamageReport:
    operator_id: UUID
    report_id: UUID
    resolution: str  # what was done: repaired, no fault found, ...


@dataclass(frozen=True)
class CloseAssetReports:
    """Close every open report on one asset: the operator looked at the asset."""

    operator_id: UUID
    asset_code: str
    resolution: str


@dataclass(frozen=True)
class ListDamageReports:
    city_id: str | None  # None: every city
    state: ReportState | None  # None: open and closed


@dataclass(frozen=True)
class UpdateAsset:
    """Either or both; None leaves it as it is."""

    code: str
    in_service: bool | None = None
    needs_retrieval: bool | None = None


@dataclass(frozen=True)
class RebalanceAsset:
    code: str
    step: RebalanceStep
    position: tuple[float, float] | None  # (lon, lat) the crew gave; None: the lock's own
