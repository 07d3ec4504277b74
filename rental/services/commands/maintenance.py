"""Commands of maintenance: damage reports and their photos, assets in and out of service,
trucks moving bikes."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.damage_photos import PhotoType
from rental.domain.maintenance import DamageCategory, RebalanceStep, ReportState


@dataclass(frozen=True)
class ReportDamage:
    reporter_id: UUID
    asset_code: str  # as rental.domain.fleet.asset_code_from_qr read it
    category: DamageCategory
    photo_id: UUID | None  # a photo this rider uploaded (UploadDamagePhoto)
    note: str | None


@dataclass(frozen=True)
class UploadDamagePhoto:
    uploader_id: UUID
    declared: PhotoType  # the upload's Content-Type
    data: bytes  # the image file as sent


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
