"""Commands of the rides context: quotes, reservations and rentals."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class QuoteAsset:
    rider_id: UUID
    asset_code: str  # as rental.domain.fleet.asset_code_from_qr read it


@dataclass(frozen=True)
class RequestUnlock:
    rider_id: UUID
    asset_code: str  # as rental.domain.fleet.asset_code_from_qr read it
    idempotency_key: str
    app_visit: UUID | None = None  # the app's visit, for the rider funnel


@dataclass(frozen=True)
class Reserve:
    rider_id: UUID
    asset_code: str  # as rental.domain.fleet.asset_code_from_qr read it
    idempotency_key: str


@dataclass(frozen=True)
class CancelReservation:
    rider_id: UUID
    reservation_id: UUID


@dataclass(frozen=True)
class RingVehicle:
    rider_id: UUID
    asset_id: UUID
