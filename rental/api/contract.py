"""The API's contract: the types requests and answers are made of, shared by every blueprint.

Each endpoint declares its path, query and body as pydantic models built from the types
here (flask-openapi3 validates them before the view runs, and publishes them in the OpenAPI
document at /api/v1/openapi.json), and its answers as models too. A request model is the
edge of a use case's command: its fields are already bounded and checked against the
domain's rules (`domain_rule`), and its `command()` builds the frozen dataclass the use
case takes. A field that fails answers 400 `{"error": {"code", "message", "field"}}`; the
code is `invalid_<field>` unless the domain's rule (or `explained`) names another.

Types here are bounded on purpose: every string has a maximum length and no NUL character
(PostgreSQL refuses NUL in text), every number a range, so no request of any size or
shape reaches a use case unchecked.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from rental.domain.errors import InvalidInput
from rental.domain.fleet import ASSET_CODE, asset_code_from_qr
from rental.domain.payments import CURRENCY

T = TypeVar("T")

# In the OpenAPI document and enforced: no NUL anywhere in a string.
NO_NUL = r"^[^\x00]*$"
# Bounds of numbers that are money in minor units: a trillion fen is far past any fare,
# top-up or refund, and well inside PostgreSQL's bigint.
MAX_AMOUNT_MINOR = 10**12
ERROR_CODE = "error_code"  # where a rule's own error code travels in a pydantic error


class RequestModel(BaseModel):
    """Path, query and body models: fields a client does not know about are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class AnswerModel(BaseModel):
    """What an endpoint answers; views build these, so the document is what they send."""

    model_config = ConfigDict(frozen=True)

    def json(self) -> dict[str, Any]:  # type: ignore[override]
        """The answer as Flask sends it: ids, times and enums as JSON strings."""
        return self.model_dump(mode="json")


def domain_rule(check: Callable[[Any], T]) -> AfterValidator:
    """A domain check (say `normalised_phone`) as a field validator: its InvalidInput
    becomes this field's error with the domain's code and message."""

    def validate(value: Any) -> T:
        try:
            return check(value)
        except InvalidInput as error:
            raise PydanticCustomError(error.code, error.message, {ERROR_CODE: error.code}) from None

    return AfterValidator(validate)


def explained(message: str, code: str | None = None) -> WrapValidator:
    """Any failure of the type it follows is told as `message` (with `code`, or the
    field's `invalid_<field>`), rather than in pydantic's words."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            field_code = code or f"invalid_{info.field_name}"
            raise PydanticCustomError(field_code, message, {ERROR_CODE: field_code}) from None

    return WrapValidator(validate)


# -- Text ---------------------------------------------------------------------------------

# A bounded text: a name, a note, a reason. Longer ones are refused, not cut.
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)]
CityId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=NO_NUL),
    Field(description="a city's id, such as `demo`"),
]
AssetCode = Annotated[
    str,
    StringConstraints(pattern=ASSET_CODE.pattern),
    Field(description="an asset's code, as printed under its QR code (`BK00001`)"),
]
# What a rider scanned: the QR code's URL (ending in /q/<code>) or the bare code.
Qr = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=NO_NUL),
    explained("qr must be an asset code or a URL ending in /q/<code>", "invalid_qr"),
    domain_rule(asset_code_from_qr),
    Field(description="the scanned QR code's URL, or the asset's code"),
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=8, max_length=64, pattern=NO_NUL),
    explained("idempotency_key must be a string of 8 to 64 characters (a fresh UUID per request)"),
    Field(description="repeating a key answers the first request's result; a fresh UUID each time"),
]

# -- Money --------------------------------------------------------------------------------

Currency = Annotated[
    str,
    StringConstraints(pattern=CURRENCY.pattern),
    explained("currency is an ISO 4217 code such as CNY"),
    Field(description="an ISO 4217 currency code"),
]
AmountMinor = Annotated[
    StrictInt,
    Field(ge=0, le=MAX_AMOUNT_MINOR, description="an amount in minor units (fen, cents)"),
]

# -- Places -------------------------------------------------------------------------------

# In JSON bodies a number must be a JSON number; in a query string it is read from text.
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
LongitudeParam = Annotated[
    float, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS 84 degrees")
]
LatitudeParam = Annotated[
    float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS 84 degrees")
]

# -- Lists --------------------------------------------------------------------------------

Before = Annotated[
    datetime | None,
    Field(description="only what is older than this ISO 8601 time: the next page of a list"),
]

# -- Plain JSON values, strict: true is no number and 5 no text ----------------------------

Flag = StrictBool
Count = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]


# -- Errors -------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="stable and machine-readable: `invalid_phone`, `asset_in_use`")
    message: str = Field(description="for people: what was wrong")
    field: str | None = Field(
        None, description="the request's part that was wrong (`phone`, `zones.0.name`), if one"
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx of the API (MDS answers in its own spec's shape)."""

    error: ErrorDetail


class MdsErrorBody(BaseModel):
    """Errors of /mds/, in the MDS 2.0 provider API's shape."""

    error: str
    error_description: str
    error_details: list[str]


# Declared answers of authenticated endpoints, besides the ones every endpoint has.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
# (flask-openapi3's ResponseDict: status -> model, or an OpenAPI response object.)
Responses = dict[str | int, type[BaseModel] | dict[str, Any] | None]
SIGNED_IN: Responses = {401: ErrorBody, 403: ErrorBody}
NOT_FOUND: Responses = {404: ErrorBody}
CONFLICT: Responses = {409: ErrorBody}
UNAVAILABLE: Responses = {503: ErrorBody}  # a lock's broker or the payment gateway did not answer


class RentalIdPath(RequestModel):
    rental_id: UUID


class CityPath(RequestModel):
    city_id: CityId


class CodePath(RequestModel):
    code: AssetCode
