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

import copy
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, ParamSpec, TypeVar
from uuid import UUID

from annotated_types import GroupedMetadata
from flask_openapi3.request import _validate_request
from flask_openapi3.utils import parse_parameters
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from rental.api.auth import requires, requires_city_client
from rental.domain.errors import InvalidInput
from rental.domain.fleet import ASSET_CODE, QR, asset_code_from_qr
from rental.domain.money import checked_currency, currency_codes
from rental.domain.riders import (
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PASSWORD_RULE,
    PHONE,
    Role,
    checked_name,
    checked_password,
    normalised_phone,
)

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# In the OpenAPI document and enforced: no NUL anywhere in a string.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
# Bounds of numbers that are money in minor units: a trillion fen is far past any fare,
# top-up or refund, and well inside PostgreSQL's bigint.
MAX_AMOUNT_MINOR = 10**12
# Where our own code, and a model-level rule's field, travel in a pydantic error.
ERROR_CODE = "rental_error_code"
FIELD = "rental_field"


class RequestModel(BaseModel):
    """Path and body models: a field the endpoint does not know is refused (400), so the
    document's `additionalProperties: false` is what the API does, and a misspelt
    optional field is not silently dropped.

    Each is known by its name (unique: it is the model's name in the OpenAPI document
    too), so that an error can be told in the words its field declares (`explained`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _by_name: ClassVar[dict[str, type["RequestModel"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = RequestModel._by_name.get(cls.__name__)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"two request models are named {cls.__name__}")
        RequestModel._by_name[cls.__name__] = cls

    @classmethod
    def named(cls, name: str) -> type["RequestModel"] | None:
        return RequestModel._by_name.get(name)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Made once per model: flask-openapi3 asks for a query model's schema on every
        request (about a millisecond each time otherwise). That call, without arguments,
        only reads it and gets the schema itself (copying it was a tenth of a nearby
        search's request); the document's calls, with arguments, get a copy to change."""
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        if not args and not kwargs:
            return _SCHEMAS[key]
        return copy.deepcopy(_SCHEMAS[key])


_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}


class QueryModel(RequestModel):
    """Query models: unknown parameters are ignored (a cache-buster does no harm)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class AnswerModel(BaseModel):
    """What an endpoint answers; views build these, so the document is what they send."""

    model_config = ConfigDict(frozen=True)

    def json(self) -> dict[str, Any]:  # type: ignore[override]
        """The answer as Flask sends it: ids, times and enums as JSON strings."""
        return self.model_dump(mode="json")


def signed_in(role: Role | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`rental.api.auth.requires(role)` (None: any role), and only then the request's
    validation: who may not call an endpoint is told 401 or 403, never what its request
    should look like."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return requires(role)(_validating(view))

    return decorate


def city_client(view: Callable[P, R]) -> Callable[P, R]:
    """`rental.api.auth.requires_city_client` (an MDS client's token), and only then the
    request's validation, as `signed_in` does for riders and operators."""
    return requires_city_client(_validating(view))


def _validating(view: Callable[P, R]) -> Callable[P, R]:
    """flask-openapi3's `validate_request()`, with the view's request models read from its
    signature once: `validate_request` reads them (and makes their JSON schemas) again on
    every request, a tenth of a signed-in request's time."""
    # Tells flask-openapi3 not to validate before this wrapper does (after the sign-in).
    view.__delay_validate_request__ = True  # type: ignore[attr-defined]
    parts: Any = None

    @functools.wraps(view)
    def validated(*args: P.args, **kwargs: P.kwargs) -> R:
        nonlocal parts
        if parts is None:
            parts = parse_parameters(view)
        header, cookie, path, query, form, body, raw = parts
        checked = _validate_request(header, cookie, path, query, form, body, raw, kwargs)
        checked.update(kwargs)
        return view(*args, **checked)

    return validated


def refusal(code: str | None, message: str, field: str | None = None) -> PydanticCustomError:
    """A field's or a model's error, in our words: `code` (None: `invalid_<field>`), and for
    a model-level rule the field it is about."""
    return PydanticCustomError("rental", message, {ERROR_CODE: code, FIELD: field})


def domain_rule(check: Callable[[Any], T]) -> AfterValidator:
    """A domain check (say `normalised_phone`) as a field validator: its InvalidInput
    becomes this field's error with the domain's message, and its code unless that is
    only the generic `invalid_input`."""

    def validate(value: Any) -> T:
        try:
            return check(value)
        except InvalidInput as error:
            code = None if error.code == InvalidInput.code else error.code
            raise refusal(code, error.message) from None

    return AfterValidator(validate)


@dataclass(frozen=True)
class Explanation:
    message: str
    code: str | None


def explained(message: str, code: str | None = None) -> WrapValidator:
    """Any failure of the type it follows, and the field's absence, is told as `message`
    (with `code`, or the field's `invalid_<field>`), rather than in pydantic's words."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise refusal(code, message) from None

    validate.explanation = Explanation(message, code)  # type: ignore[attr-defined]
    return WrapValidator(validate)


def explanation_of(model_name: str, field: str) -> Explanation | None:
    """What a required field of a request model says when it is missing, if it says."""
    model = RequestModel.named(model_name)
    info = model.model_fields.get(field) if model else None
    return _explanation(info.metadata) if info else None


def _explanation(metadata: Iterable[Any]) -> Explanation | None:
    for item in metadata:
        if isinstance(item, GroupedMetadata):
            found = _explanation(item)
            if found:
                return found
        explanation = getattr(getattr(item, "func", None), "explanation", None)
        if isinstance(explanation, Explanation):
            return explanation
    return None


# -- Text ---------------------------------------------------------------------------------

# A bounded text: a name, a note, a reason. Longer ones are refused, not cut.
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
    StringConstraints(max_length=500, pattern=QR.pattern),
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

# -- People -------------------------------------------------------------------------------

Phone = Annotated[
    str,
    StringConstraints(max_length=32, pattern=PHONE.pattern),
    explained("phone must be 6 to 15 digits, optionally with a leading +", "invalid_phone"),
    domain_rule(normalised_phone),
    Field(description="a mobile number: 6 to 15 digits, optionally with a leading +"),
]
Password = Annotated[
    str,
    StringConstraints(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, pattern=NO_NUL
    ),
    explained(PASSWORD_RULE, "invalid_password"),
    domain_rule(checked_password),
]
PersonName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NOT_BLANK),
    explained(f"name must be 1 to {MAX_NAME_LENGTH} characters", "invalid_name"),
    domain_rule(checked_name),
]

# -- Money --------------------------------------------------------------------------------

Currency = Annotated[
    str,
    explained("currency is an ISO 4217 code such as CNY"),
    domain_rule(checked_currency),
    Field(description="an ISO 4217 currency code", json_schema_extra={"enum": currency_codes()}),
]


def whole(value: Any) -> Any:
    """JSON has one kind of number: 152.0 is the integer 152 (as JSON Schema says)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A JSON integer is a number without a fraction, never true, false or "5": `Strict()` with
# `BeforeValidator(whole)` LAST (after the bounds, which then stay in the document).
AmountMinor = Annotated[
    int,
    Strict(),
    Field(ge=0, le=MAX_AMOUNT_MINOR, description="an amount in minor units (fen, cents)"),
    BeforeValidator(whole),
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

# An optional query parameter: absent or given, never null (a query string has no null).
Absent = SkipJsonSchema[None]


def _given(value: Any) -> Any:
    if value is None:  # only a null that was sent: a default is not validated
        raise refusal(None, "leave it out rather than send null")
    return value


def _no_null(schema: dict[str, Any]) -> None:
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    schema.update(options[0] if len(options) == 1 else {"anyOf": options})
    schema.pop("default", None)


class NotNull(GroupedMetadata):
    """An optional body field that may be left out but not sent as null, as the document
    says: `x: Annotated[int | None, NotNull()] = None`."""

    def __iter__(self) -> Iterator[Any]:
        yield BeforeValidator(_given)
        yield Field(json_schema_extra=_no_null)


# -- Days and times -----------------------------------------------------------------------

# Every day and time a request names lies in these years: far enough either way for any
# ride, statement or report, and far from the calendar's ends (year 1 and 9999), so that a
# day plus or minus a day, or a city's UTC offset, can never leave it.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive: the end of LAST_DAY in UTC
DAY_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_RULE = f"a day is written YYYY-MM-DD (2026-11-30), from {FIRST_DAY} to {LAST_DAY}"
TIME_RULE = (
    "an ISO 8601 time such as 2026-11-30T08:00:00Z,"
    f" from {FIRST_DAY} to {LAST_DAY} (UTC when it has no offset)"
)
MOMENT_RULE = (
    "a time in ISO 8601 with its offset, such as 2026-11-30T00:00:00Z,"
    f" from {FIRST_DAY} to {LAST_DAY}"
)


def _day_text(value: Any) -> Any:
    """A day is a plain YYYY-MM-DD: not a time, not a number of days."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not DAY_TEXT.match(value):
        raise refusal(None, DAY_RULE)
    try:
        return date.fromisoformat(value)
    except ValueError:  # a day its month does not have
        raise refusal(None, DAY_RULE) from None


def _day_in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise refusal(None, DAY_RULE)
    return value


def _iso_text(value: Any) -> Any:
    """A time is an ISO 8601 text (`2026-11-30T08:00:00Z`), not a number of seconds, and
    its year is inside the bounds before anything (its offset) is reckoned with it."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise refusal(None, TIME_RULE)
    if not FIRST_DAY.year - 1 <= int(value[:4]) <= LAST_DAY.year + 1:
        raise refusal(None, TIME_RULE)
    return value


def _time_in_range(value: datetime) -> datetime:
    """`value` in UTC when it has no offset, refused outside EARLIEST_TIME..LATEST_TIME."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST_TIME <= aware < LATEST_TIME:
        raise refusal(None, TIME_RULE)
    return aware


def _has_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise refusal(None, MOMENT_RULE)
    return value


# A calendar day: YYYY-MM-DD only, FIRST_DAY to LAST_DAY.
Day = Annotated[
    date,
    BeforeValidator(_day_text),
    AfterValidator(_day_in_range),
    Field(description=f"a calendar day, YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}"),
]
# A time in ISO 8601; one without an offset is UTC. From FIRST_DAY to the end of LAST_DAY.
IsoTime = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_time_in_range),
    Field(description=f"ISO 8601 (UTC without an offset), from {FIRST_DAY} to {LAST_DAY}"),
]
# A time in ISO 8601 that must carry its offset; the same bounds.
Moment = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_has_offset),
    AfterValidator(_time_in_range),
    Field(description=f"ISO 8601 with its offset, from {FIRST_DAY} to {LAST_DAY}"),
]
Before = Annotated[
    IsoTime | Absent,
    Field(description="only what is older than this ISO 8601 time: the next page of a list"),
]

# -- Errors -------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="stable and machine-readable: `invalid_phone`, `asset_in_use`")
    message: str = Field(description="for people: what was wrong")
    field: str | None = Field(
        None, description="the request's part that was wrong (`phone`, `zones.0.name`), if one"
    )
    retry_at: datetime | None = Field(
        None, description="429 from a fair-use rule: when it allows the request again"
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


# A payment gateway's name, as the platform registers it and orders record it.
GatewayName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,23}$"),
    explained("a gateway is named in lower-case letters, such as stripe", "invalid_gateway"),
    Field(description="a payment gateway by name: `sandbox`, `stripe`, ..."),
]
