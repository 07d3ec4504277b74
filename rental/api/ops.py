"""The operator's side: provision locks, register assets, see them all."""

from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ConfigDict, Field, StrictInt, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from rental.api.common import NOT_MODIFIED, platform, qr_image, unless_unchanged
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NO_NUL,
    NOT_FOUND,
    SIGNED_IN,
    UNAVAILABLE,
    AnswerModel,
    CityId,
    CodePath,
    RequestModel,
    domain_rule,
    explained,
    signed_in,
)
from rental.domain.credit import CreditReason
from rental.domain.errors import InvalidInput, Unavailable
from rental.domain.fleet import (
    ASSET_CODE,
    ITEM_KINDS,
    LOCK_ID,
    MAX_SLOTS,
    VEHICLE_KINDS,
    AssetKind,
    UnavailableReason,
    check_lock_id,
    is_item,
    qr_payload,
)
from rental.domain.rentals import RentalState
from rental.domain.riders import Role
from rental.services import assets, credit
from rental.services.commands.assets import (
    ProvisionLock,
    RegisterAsset,
    RegisterCabinet,
    RegisterItem,
    RegisterVehicle,
)
from rental.services.commands.riders import RecordIncident
from rental.services.read_models import AssetOverview

OPERATIONS = Tag(name="operations", description="operators: locks, assets, cabinets, credit")
blueprint = APIBlueprint(
    "ops",
    __name__,
    url_prefix="/api/v1/ops",
    abp_tags=[OPERATIONS],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

# An optional query parameter: absent or given, never null (a query string has no null).
Absent = SkipJsonSchema[None]
LOCK_ID_RULE = "lock_id: 3-40 letters, digits, '-' or '_', starting with a letter or digit"
# A device's id: it becomes MQTT topic levels and a broker username (rental.domain.fleet).
LockId = Annotated[
    str,
    StringConstraints(pattern=LOCK_ID.pattern),
    explained(LOCK_ID_RULE, "invalid_lock_id"),
    Field(description="a lock's or cabinet's id: 3-40 letters, digits, '-' or '_'"),
]
NewAssetCode = Annotated[
    str,
    StringConstraints(pattern=ASSET_CODE.pattern),
    explained(
        "code: 3-40 letters, digits, '-' or '_', starting with a letter or digit",
        "invalid_asset_code",
    ),
    Field(description="the code printed under the QR code (`BK00001`)"),
]
Kind = Annotated[
    AssetKind,
    explained(f"kind must be one of: {', '.join(AssetKind)}", "invalid_kind"),
]


class NewLock(RequestModel):
    """No body, or no `lock_id`: the platform makes one up."""

    # flask-openapi3 reads `openapi_extra` from the config: the body is optional.
    model_config = ConfigDict(openapi_extra={"required": False})  # type: ignore[typeddict-unknown-key]

    lock_id: Annotated[LockId, domain_rule(check_lock_id)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_body_is_empty(cls, data: Any) -> Any:
        return {} if data is None else data


class BrokerAccount(AnswerModel):
    """docs/lock-protocol.md §1-2."""

    broker: str = Field(
        description="where the lock connects: mqtts://host:port (TLS), or mqtt://host:port"
    )
    username: str = Field(description="the lock's broker username: its lock id")
    password: str = Field(description="the lock's own broker password, shown only here")
    ca: str | None = Field(
        description="PEM certificate of the CA that signs the broker's TLS certificate; "
        "null: the CAs the lock trusts already",
    )


class ProvisionedLock(AnswerModel):
    lock_id: str
    mqtt: BrokerAccount
    signing_key: str = Field(description="hex: the key the lock signs its reports with")
    note: str


@blueprint.post("/locks", responses={201: ProvisionedLock, **CONFLICT, **UNAVAILABLE})
@signed_in(Role.OPERATOR)
def provision_lock(body: NewLock) -> tuple[dict[str, Any], int]:
    """Provision a lock: its broker account and signing key, shown once, with the
    broker's address and CA (docs/lock-protocol.md §2).

    Store them in the lock now. 409 for an id already provisioned; 503 when the broker's
    address for locks is not configured (LOCK_BROKER_URL) or no lockctl answers."""
    p = platform()
    if p.lock_broker is None:
        raise Unavailable(
            "LOCK_BROKER_URL is not set: the broker address to give locks", "lock_broker_unset"
        )
    credentials = assets.provision_lock(p.uow(), p.broker_accounts, ProvisionLock(body.lock_id))
    account = BrokerAccount(
        broker=p.lock_broker.url,
        username=credentials.mqtt_username,
        password=credentials.mqtt_password,
        ca=p.lock_broker.ca_pem,
    )
    return ProvisionedLock(
        lock_id=credentials.lock_id,
        mqtt=account,
        signing_key=credentials.signing_key_hex,
        note="store these in the lock now: the password and key are not shown again",
    ).json(), 201


def _where_assets_are(schema: dict[str, Any]) -> None:
    """The document says what `_where_it_is` checks: which fields each kind needs."""
    text, number = {"type": "string"}, {"type": "integer"}
    vehicle = [kind.value for kind in VEHICLE_KINDS]
    item = sorted(ITEM_KINDS)
    schema["anyOf"] = [
        {"properties": {"kind": {"enum": vehicle}, "lock_id": text}, "required": ["lock_id"]},
        {
            "properties": {"kind": {"enum": item}, "cabinet_id": text, "slot": number},
            "required": ["cabinet_id", "slot"],
        },
    ]


class NewAsset(RequestModel):
    """A vehicle names its own lock (`lock_id`); an item names the cabinet and slot it is
    docked in (`cabinet_id`, `slot`)."""

    model_config = ConfigDict(json_schema_extra=_where_assets_are)

    code: NewAssetCode
    kind: Kind
    city_id: CityId
    lock_id: LockId | None = None
    cabinet_id: LockId | None = None
    slot: Annotated[StrictInt, Field(ge=1, le=MAX_SLOTS)] | None = None

    @model_validator(mode="after")
    def _where_it_is(self) -> Self:
        """Raised as our own error, which pydantic lets through, naming the field."""
        needed: tuple[str, ...]
        if is_item(self.kind):
            needed, why = ("cabinet_id", "slot"), "an item is docked in a cabinet's slot"
        else:
            needed, why = ("lock_id",), "a vehicle needs the lock_id of its lock"
        for name in needed:
            if getattr(self, name) is None:
                raise InvalidInput(f"{why}: {' and '.join(needed)}", f"invalid_{name}", name)
        return self

    def command(self) -> RegisterAsset:
        if self.cabinet_id is not None and self.slot is not None and is_item(self.kind):
            return RegisterItem(self.code, self.kind, self.city_id, self.cabinet_id, self.slot)
        assert self.lock_id is not None  # checked above
        return RegisterVehicle(self.code, self.kind, self.city_id, self.lock_id)


class AssetLabel(AnswerModel):
    code: str
    kind: AssetKind
    qr: str = Field(description="the URL the QR code encodes")
    qr_image: str = Field(description="the QR code as an SVG data URI")


class RegisteredAsset(AssetLabel):
    id: UUID
    city_id: str
    lock_id: str | None
    cabinet_id: str | None
    slot: int | None


@blueprint.post("/assets", responses={201: RegisteredAsset, **NOT_FOUND, **CONFLICT})
@signed_in(Role.OPERATOR)
def register_asset(body: NewAsset) -> tuple[dict[str, Any], int]:
    """Register an asset: a vehicle with its own lock, or an item in a cabinet's slot.

    404 for a city, lock or cabinet that does not exist; 409 for a code or lock taken."""
    p = platform()
    asset = assets.register_asset(p.uow(), body.command())
    return RegisteredAsset(
        id=asset.id,
        city_id=asset.city_id,
        lock_id=asset.lock_id,
        cabinet_id=asset.cabinet_id,
        slot=asset.slot,
        **_label(p.config.PUBLIC_BASE_URL, asset.code, asset.kind),
    ).json(), 201


@blueprint.get("/assets/<code>/label", responses={200: AssetLabel, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def asset_label(path: CodePath) -> dict[str, Any]:
    """What a printed label carries: the code, and the QR code a rider scans."""
    p = platform()
    asset = assets.asset_by_code(p.uow(), path.code)
    return AssetLabel(**_label(p.config.PUBLIC_BASE_URL, asset.code, asset.kind)).json()


def _label(base_url: str, code: str, kind: AssetKind) -> dict[str, Any]:
    payload = qr_payload(base_url, code)
    return {"code": code, "kind": kind, "qr": payload, "qr_image": qr_image(payload)}


class NewCabinet(RequestModel):
    lock_id: LockId = Field(description="the provisioned device that releases the items")
    city_id: CityId
    # Any kind is read; the domain refuses a vehicle's (a cabinet lends items only).
    kind: Annotated[Kind, Field(json_schema_extra={"enum": sorted(ITEM_KINDS)})]
    slots: Annotated[
        StrictInt,
        Field(ge=1, le=MAX_SLOTS),
        explained(f"slots is the number of slots, 1 to {MAX_SLOTS}", "invalid_slots"),
    ]

    def command(self) -> RegisterCabinet:
        return RegisterCabinet(self.lock_id, self.city_id, self.kind, self.slots)


class RegisteredCabinet(AnswerModel):
    lock_id: str
    city_id: str
    kind: AssetKind
    slots: int


@blueprint.post("/cabinets", responses={201: RegisteredCabinet, **NOT_FOUND, **CONFLICT})
@signed_in(Role.OPERATOR)
def register_cabinet(body: NewCabinet) -> tuple[dict[str, Any], int]:
    """A provisioned device becomes a cabinet of `slots` numbered slots (1..slots)."""
    cabinet = assets.register_cabinet(platform().uow(), body.command())
    return RegisteredCabinet(
        lock_id=cabinet.lock_id, city_id=cabinet.city_id, kind=cabinet.kind, slots=cabinet.slots
    ).json(), 201


class AssetsQuery(RequestModel):
    city_id: CityId | Absent = Field(None, description="one city's assets; all when absent")


class AssetPosition(AnswerModel):
    lon: float = Field(description="WGS 84 degrees")
    lat: float = Field(description="WGS 84 degrees")


class LockState(AnswerModel):
    id: str | None = Field(description="the vehicle's lock, or the item's cabinet")
    online: bool | None = Field(description="null: no device holds it (an item out)")
    locked: bool | None
    battery_pct: int | None
    last_seen_at: datetime | None
    position: AssetPosition | None


class CabinetPlace(AnswerModel):
    id: str
    slot: int | None


class AssetInFleet(AnswerModel):
    id: UUID
    code: str
    kind: AssetKind
    city_id: str
    qr: str
    in_service: bool
    needs_retrieval: bool
    rental_state: RentalState | None = Field(description="of its open rental, if any")
    available: bool = Field(description="riders can take it now")
    unavailable: list[UnavailableReason] = Field(description="why riders cannot, if not")
    open_damage_reports: int
    cabinet: CabinetPlace | None
    lock: LockState


class AssetFleet(AnswerModel):
    assets: list[AssetInFleet]


@blueprint.get("/assets", responses={200: AssetFleet, 304: NOT_MODIFIED}, validate_response=False)
@signed_in(Role.OPERATOR)
def list_assets(query: AssetsQuery) -> Response:
    """Every asset with its device's state and why riders cannot take it, if they cannot.

    With an ETag: 304 and no body for an If-None-Match that names the fleet as it stands."""
    p = platform()
    policy = p.config.service_policy()
    found = assets.asset_overview(p.lagging_uow(), query.city_id, p.now(), policy)
    fleet = AssetFleet(assets=[_in_fleet(asset, p.config.PUBLIC_BASE_URL) for asset in found])
    return unless_unchanged(fleet.json())


def _in_fleet(asset: AssetOverview, base_url: str) -> AssetInFleet:
    position = None
    if asset.lon is not None and asset.lat is not None:
        position = AssetPosition(lon=asset.lon, lat=asset.lat)
    cabinet = None
    if asset.cabinet_id is not None:
        cabinet = CabinetPlace(id=asset.cabinet_id, slot=asset.slot)
    return AssetInFleet(
        id=asset.id,
        code=asset.code,
        kind=asset.kind,
        city_id=asset.city_id,
        qr=qr_payload(base_url, asset.code),
        in_service=asset.in_service,
        needs_retrieval=asset.needs_retrieval,
        rental_state=asset.rental_state,
        available=not asset.unavailable,
        unavailable=list(asset.unavailable),
        open_damage_reports=asset.open_damage_reports,
        cabinet=cabinet,
        lock=LockState(
            id=asset.lock_id or asset.cabinet_id,
            online=asset.online,
            locked=asset.locked,
            battery_pct=asset.battery_pct,
            last_seen_at=asset.last_seen_at,
            position=position,
        ),
    )


class RiderPath(RequestModel):
    rider_id: UUID


# The reasons operators confirm (rental.domain.credit.CONFIRMED_BY_OPERATORS).
Incident = Annotated[
    Literal[CreditReason.PARKING_VIOLATION, CreditReason.DAMAGE],
    explained("reason must be one of ['damage', 'parking_violation']", "invalid_reason"),
]


class ConfirmedIncident(RequestModel):
    reason: Incident
    reference: Annotated[
        str,
        StringConstraints(min_length=3, max_length=100, pattern=NO_NUL),
        explained(
            "reference (e.g. a damage report id) is 3 to 100 characters", "invalid_reference"
        ),
        Field(description="what it is about, such as a damage report's id: once per reference"),
    ]

    def command(self, rider_id: UUID) -> RecordIncident:
        return RecordIncident(rider_id, self.reason, self.reference)


class RecordedIncident(AnswerModel):
    rider_id: UUID
    score: int = Field(description="the rider's credit score after it")


@blueprint.post("/riders/<rider_id>/credit-events", responses={201: RecordedIncident, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def record_credit_event(path: RiderPath, body: ConfirmedIncident) -> tuple[dict[str, Any], int]:
    """Confirm a rider's parking violation or damage, once per `reference`.

    A repeat of a reference changes nothing and answers the score."""
    score = credit.record_confirmed_incident(platform().uow(), body.command(path.rider_id))
    return RecordedIncident(rider_id=path.rider_id, score=score).json(), 201
