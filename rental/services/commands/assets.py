"""Commands of the fleet context: devices provisioned, assets registered and looked for."""

from dataclasses import dataclass

from rental.domain.fleet import AssetKind


@dataclass(frozen=True)
class ProvisionLock:
    lock_id: str | None  # checked by rental.domain.fleet.check_lock_id; None: one is made up


@dataclass(frozen=True)
class RegisterCabinet:
    """A provisioned device becomes a cabinet of `slots` numbered slots (1..slots)."""

    lock_id: str
    city_id: str
    kind: AssetKind
    slots: int


@dataclass(frozen=True)
class RegisterVehicle:
    code: str  # checked by rental.domain.fleet.check_asset_code
    kind: AssetKind
    city_id: str
    lock_id: str  # the vehicle's own lock


@dataclass(frozen=True)
class RegisterItem:
    code: str  # checked by rental.domain.fleet.check_asset_code
    kind: AssetKind
    city_id: str
    cabinet_id: str  # docked in this cabinet's slot
    slot: int


RegisterAsset = RegisterVehicle | RegisterItem


@dataclass(frozen=True)
class SearchNearby:
    """Vehicles riders can take now, nearest first."""

    lon: float
    lat: float
    radius_m: float
    kinds: list[AssetKind] | None  # None: every kind
    limit: int
