"""Commands of the rider funnel: the steps the app reports, and a search that found nothing."""

from dataclasses import dataclass
from uuid import UUID

from rental.domain.funnel import Step


@dataclass(frozen=True)
class AppStep:
    city_id: str
    step: Step  # one of rental.domain.funnel.APP_STEPS


@dataclass(frozen=True)
class RecordAppSteps:
    visit_id: UUID  # the app's random id of this opening of the app
    steps: tuple[AppStep, ...]


@dataclass(frozen=True)
class NothingNearby:
    """A nearby search that answered no vehicle, at (lon, lat) WGS 84: the position only
    finds the city; it is not kept."""

    lon: float
    lat: float
    visit_id: UUID | None
