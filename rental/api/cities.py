"""Cities: operators launch, configure and retire them; riders' apps read the running ones
(their names, clocks, money and where their maps open)."""

from datetime import datetime
from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, StringConstraints

from rental.api.answers import PricingPlanAnswer, pricing_plan
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_BLANK,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityPath,
    Currency,
    GatewayName,
    Latitude,
    Longitude,
    NotNull,
    RequestModel,
    domain_rule,
    explained,
    signed_in,
)
from rental.domain.cities import (
    MAX_NAME,
    City,
    checked_city_id,
    checked_locale,
    checked_time_zone,
)
from rental.domain.payment_choice import GatewayOffer
from rental.domain.riders import Role
from rental.services import cities, city_gateways, pricing
from rental.services.commands.city import ConfigureCity, LaunchCity, OfferGateways

CITIES = Tag(name="cities", description="launching, configuring and retiring a city")
blueprint = APIBlueprint("cities", __name__, url_prefix="/api/v1", abp_tags=[CITIES])

NewCityId = Annotated[
    str,
    StringConstraints(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    explained(
        "id is 2 to 40 lower-case letters, digits and inner hyphens, such as berlin",
        "invalid_city_id",
    ),
    domain_rule(checked_city_id),
    Field(description="in every URL of the city (GBFS, MDS, the API); never changes"),
]
CityName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NOT_BLANK),
    explained(f"name must be 1 to {MAX_NAME} characters", "invalid_name"),
]
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64),
    explained("time_zone is an IANA time zone such as Europe/Berlin", "invalid_time_zone"),
    domain_rule(checked_time_zone),
    Field(description="IANA time zone: the city's clock for nightly runs, receipts, reports"),
]
LanguageTag = Annotated[
    str,
    StringConstraints(max_length=35),
    explained("locale is a language tag such as de-DE or zh-CN", "invalid_locale"),
    domain_rule(checked_locale),
    Field(description="IETF BCP 47: the language of the city's names in its feeds"),
]


class Center(RequestModel):
    lon: Longitude
    lat: Latitude


CenterField = Annotated[
    Center, explained("center is {lon, lat} in WGS 84 degrees", "invalid_center")
]


class LaunchRequest(RequestModel):
    id: NewCityId
    name: CityName
    time_zone: TimeZone
    currency: Annotated[Currency, Field(description="ISO 4217; a city's money never changes")]
    locale: LanguageTag
    center: CenterField

    def command(self) -> LaunchCity:
        center = (self.center.lon, self.center.lat)
        return LaunchCity(self.id, self.name, self.time_zone, self.currency, self.locale, center)


class ConfigureRequest(RequestModel):
    """The settings to change; those left out stay. The id and the currency never change."""

    name: Annotated[CityName | None, NotNull()] = None
    time_zone: Annotated[TimeZone | None, NotNull()] = None
    locale: Annotated[LanguageTag | None, NotNull()] = None
    center: Annotated[CenterField | None, NotNull()] = None

    def command(self, city_id: str) -> ConfigureCity:
        center = None if self.center is None else (self.center.lon, self.center.lat)
        return ConfigureCity(city_id, self.name, self.time_zone, self.locale, center)


class CenterAnswer(AnswerModel):
    lon: float
    lat: float


class CityAnswer(AnswerModel):
    id: str
    name: str
    time_zone: str = Field(description="IANA")
    currency: str = Field(description="ISO 4217; amounts of the city are in its minor unit")
    locale: str = Field(description="IETF BCP 47")
    center: CenterAnswer = Field(description="WGS 84: where maps of the city open")
    launched_at: datetime | None
    retired_at: datetime | None = Field(description="null while the city runs")


class CityList(AnswerModel):
    cities: list[CityAnswer]


def city_answer(city: City) -> CityAnswer:
    return CityAnswer(
        id=city.id,
        name=city.name,
        time_zone=city.time_zone,
        currency=city.currency,
        locale=city.locale,
        center=CenterAnswer(lon=city.center_lon, lat=city.center_lat),
        launched_at=city.launched_at,
        retired_at=city.retired_at,
    )


def _listed(found: list[City]) -> dict[str, Any]:
    return CityList(cities=[city_answer(city) for city in found]).json()


@blueprint.get("/cities", responses={200: CityList})
def running_cities() -> dict[str, Any]:
    """The cities riders can ride in, by id: no sign-in needed (apps show them on start)."""
    return _listed(cities.running_cities(platform().uow()))


class CityPrices(AnswerModel):
    city_id: str
    plans: list[PricingPlanAnswer] = Field(description="the current plan of each kind")


@blueprint.get("/cities/<city_id>/prices", responses={200: CityPrices, **NOT_FOUND})
def city_prices(path: CityPath) -> dict[str, Any]:
    """What riding costs in the city now, per kind: the numbers a quote and a receipt use
    (minor units of the city's currency, seconds), deposits and their waiver score. No
    sign-in needed: apps explain prices before anyone signs up. 404 `city_not_found`."""
    plans = pricing.current_pricing_plans(platform().uow(), path.city_id)
    return CityPrices(city_id=path.city_id, plans=[pricing_plan(plan) for plan in plans]).json()


@blueprint.post(
    "/ops/cities",
    responses={201: CityAnswer, **SIGNED_IN, **CONFLICT},
    security=BEARER,
)
@signed_in(Role.OPERATOR)
def launch_city(body: LaunchRequest) -> tuple[dict[str, Any], int]:
    """Launch a city: it takes rides once it has zones, a pricing plan for a kind and
    vehicles of that kind (docs/operations.md, "Launching a city"). 409 `city_exists`."""
    city = cities.launch_city(platform().uow(), body.command())
    return city_answer(city).json(), 201


@blueprint.get("/ops/cities", responses={200: CityList, **SIGNED_IN}, security=BEARER)
@signed_in(Role.OPERATOR)
def list_cities() -> dict[str, Any]:
    """Every city, retired ones too, by id."""
    return _listed(cities.all_cities(platform().uow()))


@blueprint.get(
    "/ops/cities/<city_id>", responses={200: CityAnswer, **SIGNED_IN, **NOT_FOUND}, security=BEARER
)
@signed_in(Role.OPERATOR)
def city_settings(path: CityPath) -> dict[str, Any]:
    """One city's settings; 404 `city_not_found`."""
    return city_answer(cities.city_settings(platform().uow(), path.city_id)).json()


@blueprint.patch(
    "/ops/cities/<city_id>", responses={200: CityAnswer, **SIGNED_IN, **NOT_FOUND}, security=BEARER
)
@signed_in(Role.OPERATOR)
def configure_city(path: CityPath, body: ConfigureRequest) -> dict[str, Any]:
    """Change a city's name, time zone, locale or map centre (a changed time zone moves its
    nightly run and its reports to the new clock from then on). 404 `city_not_found`."""
    city = cities.configure_city(platform().uow(), body.command(path.city_id))
    return city_answer(city).json()


@blueprint.post(
    "/ops/cities/<city_id>/retirement",
    responses={200: CityAnswer, **SIGNED_IN, **NOT_FOUND, **CONFLICT},
    security=BEARER,
)
@signed_in(Role.OPERATOR)
def retire_city(path: CityPath) -> dict[str, Any]:
    """Retire a city: no new rides, holds or vehicles; it leaves GBFS; MDS keeps serving its
    history. 409 `rides_under_way` while a ride in it is open. Repeating it changes
    nothing."""
    city = cities.retire_city(platform().uow(), path.city_id, platform().now())
    return city_answer(city).json()


@blueprint.delete(
    "/ops/cities/<city_id>/retirement",
    responses={200: CityAnswer, **SIGNED_IN, **NOT_FOUND},
    security=BEARER,
)
@signed_in(Role.OPERATOR)
def reopen_city(path: CityPath) -> dict[str, Any]:
    """Undo a retirement: the city runs again."""
    return city_answer(cities.reopen_city(platform().uow(), path.city_id)).json()


# -- the payment gateways a city offers --------------------------------------------------


class GatewayChoice(RequestModel):
    # Emptiness is the domain's to refuse (`invalid_gateways`), in its own words.
    gateways: list[GatewayName] = Field(max_length=10, description="offered to riders, in order")
    default: GatewayName | None = Field(
        None, description="used unless the rider picks another; null: the first"
    )

    def command(self, city_id: str) -> OfferGateways:
        return OfferGateways(city_id, tuple(self.gateways), self.default)


class CityGateways(AnswerModel):
    city_id: str
    gateways: list[str] = Field(description="the gateways riders may pay through, by name")
    default: str = Field(description="the one a payment takes unless the rider picks another")


class CityGatewaySettings(CityGateways):
    configured: list[str] = Field(description="every gateway the platform has, to pick from")


def _offer(city_id: str, offer: GatewayOffer) -> CityGateways:
    return CityGateways(city_id=city_id, gateways=list(offer.gateways), default=offer.default)


def _settings(city_id: str) -> dict[str, Any]:
    p = platform()
    configured = sorted(p.payment_gateways)
    offer = city_gateways.city_offer(p.uow(), city_id, configured, p.payment_gateway.name)
    answer = _offer(city_id, offer)
    return CityGatewaySettings(**answer.model_dump(), configured=configured).json()


@blueprint.get("/cities/<city_id>/payment-gateways", responses={200: CityGateways, **NOT_FOUND})
def offered_gateways(path: CityPath) -> dict[str, Any]:
    """The payment gateways riders may pay through in the city, and its default (the
    rider app's payment choice); no sign-in needed. 404 `city_not_found`."""
    p = platform()
    offer = city_gateways.city_offer(
        p.uow(), path.city_id, p.payment_gateways, p.payment_gateway.name
    )
    return _offer(path.city_id, offer).json()


@blueprint.get(
    "/ops/cities/<city_id>/payment-gateways",
    responses={200: CityGatewaySettings, **SIGNED_IN, **NOT_FOUND},
    security=BEARER,
)
@signed_in(Role.OPERATOR)
def gateway_settings(path: CityPath) -> dict[str, Any]:
    """What the city offers, and every gateway configured to choose from."""
    return _settings(path.city_id)


@blueprint.put(
    "/ops/cities/<city_id>/payment-gateways",
    responses={200: CityGatewaySettings, **SIGNED_IN, **NOT_FOUND},
    security=BEARER,
)
@signed_in(Role.OPERATOR)
def offer_gateways(path: CityPath, body: GatewayChoice) -> dict[str, Any]:
    """The city offers exactly these gateways from now on (orders already opened keep
    theirs, and refunds go back through the gateway that took the money). 400
    `gateway_not_configured` naming one the platform does not have, `default_not_offered`,
    `invalid_gateways`; 404 `city_not_found`."""
    p = platform()
    city_gateways.offer_gateways(p.uow(), body.command(path.city_id), p.payment_gateways)
    return _settings(path.city_id)
