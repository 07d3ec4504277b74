"""The MDS 2.0 provider API's requests and answers as the OpenAPI document declares them.

Requests are refused in MDS's words: 400 `missing_param` for a required parameter that is
absent, `bad_param` for one that is wrong, in the spec's error shape (rental.api.errors).
Answers are the spec's objects as rental.api.mds_json renders them (the tests hold each
answer to these models and to the official MDS schemas); they are sent as
`application/vnd.mds+json;version=2.0`.
"""

from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from rental.api.contract import ERROR_CODE, AnswerModel, RequestModel
from rental.domain import mds as spec

# The earliest timestamp MDS 2.0 takes (its data-types/timestamp.yaml: 2018-01-01).
EARLIEST_TIMESTAMP = 1_514_764_800_000
# YYYY-MM-DDTHH as far as a pattern can tell (year 0001 on, months, days, hours); a day
# a month does not have (02-30) is refused by the calendar, also as bad_param.
YEAR = r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
HOUR_PATTERN = rf"^{YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])$"
REPORT_PATTERN = r"^[0-9]{4}-[0-9]{2}\.csv$"
# A field we leave out rather than send as null: optional, and never null, in the document.
Omitted = SkipJsonSchema[None]


def _refused_in_mds_words(error: ValidationError) -> PydanticCustomError:
    first = error.errors(include_url=False)[0]
    name = ".".join(str(part) for part in first["loc"]) or "the request"
    if first["type"] == "missing":
        return PydanticCustomError("mds", f"{name} is required", {ERROR_CODE: "missing_param"})
    return PydanticCustomError("mds", f"{name}: {first['msg']}", {ERROR_CODE: "bad_param"})


class MdsRequest(RequestModel):
    """A request of the provider API: its refusals are MDS's `missing_param` and
    `bad_param`."""

    @model_validator(mode="wrap")
    @classmethod
    def _in_mds_words(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as error:
            raise _refused_in_mds_words(error) from None


def _whole_milliseconds(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return spec.whole_milliseconds(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp", "a whole number of milliseconds since 1970"
        ) from None


Hour = Annotated[
    str,
    Field(
        pattern=HOUR_PATTERN,
        description="a UTC hour, YYYY-MM-DDTHH (2026-11-23T07); one not over names no data",
    ),
]
Timestamp = Annotated[
    int,
    Field(
        ge=EARLIEST_TIMESTAMP,
        description="milliseconds since 1970 (a whole number; past year 9999: the end of time)",
    ),
    BeforeValidator(_whole_milliseconds),  # after the bounds, so that they are published
]
PageAfter = Annotated[
    UUID | Omitted,
    Field(description="the cursor of a `links.next` URL: the page after it"),
]


class MdsPageQuery(MdsRequest):
    page_after: PageAfter = None


class MdsDevicePath(MdsRequest):
    device_id: UUID = Field(description="the vehicle's device_id")


class MdsTripsQuery(MdsRequest):
    end_time: Hour = Field(description="the UTC hour in which the trips ended")


class MdsTelemetryQuery(MdsRequest):
    telemetry_time: Hour = Field(description="the UTC hour of the fixes")


class MdsHistoricalEventsQuery(MdsRequest):
    event_time: Hour = Field(description="the UTC hour of the events")


class MdsRecentEventsQuery(MdsRequest):
    start_time: Timestamp = Field(description="events at or after it (ms), in the last 2 weeks")
    end_time: Timestamp = Field(description="events before it (ms); equal to start: none")
    page_after: PageAfter = None


class MdsReportPath(MdsRequest):
    # MDS answers a name that is no month's report with 404, not 400: checked by the view.
    filename: str = Field(
        description="YYYY-MM.csv of a month that is over; any other name is 404",
        json_schema_extra={"pattern": REPORT_PATTERN},
    )


# -- Answers -----------------------------------------------------------------------------


class MdsAnswer(AnswerModel):
    """Exactly the fields we send: the tests refuse any other."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MdsGps(MdsAnswer):
    lat: float
    lng: float
    horizontal_accuracy: float | Omitted = Field(None, description="metres")


class MdsVehicle(MdsAnswer):
    device_id: UUID = Field(description="the asset's own stable id")
    provider_id: UUID
    vehicle_id: str = Field(description="the code printed on the vehicle")
    vehicle_type: Literal["bicycle"]
    propulsion_types: list[str]


class MdsEvent(MdsAnswer):
    device_id: UUID
    provider_id: UUID
    event_id: UUID
    vehicle_state: str = Field(description="MDS's vehicle state after the event")
    event_types: list[str]
    timestamp: int = Field(description="ms since 1970")
    publication_time: int | Omitted = Field(None, description="when we recorded it (ms)")
    location: MdsGps
    battery_percent: int | Omitted = None
    trip_ids: list[UUID] | Omitted = None


class MdsTelemetry(MdsAnswer):
    device_id: UUID
    provider_id: UUID
    telemetry_id: UUID
    timestamp: int = Field(description="ms since 1970")
    trip_ids: list[UUID] | None = Field(description="the trip it belongs to, if any")
    journey_id: None
    location: MdsGps
    battery_percent: int | Omitted = None


class MdsTrip(MdsAnswer):
    provider_id: UUID
    device_id: UUID
    trip_id: UUID = Field(description="the rental's random id: no rider is named")
    trip_type: list[str]
    start_time: int
    end_time: int
    start_location: MdsGps
    end_location: MdsGps
    duration: int = Field(description="seconds")
    distance: int = Field(description="metres")
    standard_cost: int = Field(description="minor units of `currency`")
    actual_cost: int
    currency: str
    parking_category: str | Omitted = None


class MdsVehicleStatus(MdsAnswer):
    device_id: UUID
    provider_id: UUID
    last_event: MdsEvent
    last_telemetry: MdsTelemetry


class MdsLinks(MdsAnswer):
    next: str | None = Field(description="the next page's URL; null on the last")


Version = Literal["2.0.0"]


class MdsVehicleList(MdsAnswer):
    version: Version
    last_updated: int
    ttl: int = Field(description="ms for which this answer holds")
    vehicles: list[MdsVehicle]


class MdsVehiclePage(MdsVehicleList):
    links: MdsLinks


class MdsVehicleStatusList(MdsAnswer):
    version: Version
    last_updated: int
    ttl: int
    vehicles_status: list[MdsVehicleStatus]


class MdsVehicleStatusPage(MdsVehicleStatusList):
    links: MdsLinks


class MdsTrips(MdsAnswer):
    version: Version
    trips: list[MdsTrip]


class MdsTelemetryList(MdsAnswer):
    version: Version
    telemetry: list[MdsTelemetry]


class MdsEvents(MdsAnswer):
    version: Version
    events: list[MdsEvent]


class MdsEventPage(MdsEvents):
    links: MdsLinks


class MdsTripsPending(MdsTrips):
    """202: the hour is over, but a lock out of reach may still report in it."""

    message: str


class MdsTelemetryPending(MdsTelemetryList):
    message: str


class MdsEventsPending(MdsEvents):
    message: str
