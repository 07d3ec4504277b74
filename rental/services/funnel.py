"""The rider funnel: the app's steps as it reports them, the platform's steps where they
happen, and what operators read of it (docs/operations.md, "The rider funnel").

The scan, the lock's answer and the ride's end mark their steps through `scan_marked`,
`refusal_marked` and `rental_followed`, called by the use cases they belong to, in their
own transactions. A refused scan's mark is written after its transaction was rolled back,
in one of its own: a failure there is logged, and the rider is told the refusal.
"""

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from rental.domain.errors import DuplicateRequest, InvalidInput, NotFound, RentalError
from rental.domain.funnel import (
    APP_STEPS,
    NOTHING_NEARBY,
    FunnelMark,
    Step,
    StepFigures,
    funnel_steps,
    local_day,
    quote_drop_out,
)
from rental.domain.idempotency import KeyReused
from rental.services.commands.funnel import NothingNearby, RecordAppSteps
from rental.services.pricing import Quote
from rental.services.retention import BATCH, in_batches
from rental.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_DAYS = 90  # the longest range operators may ask for, as the dashboard's
# A search further than this from every city's centre is in no city's funnel.
CITY_REACH_M = 50_000
EARTH_RADIUS_M = 6_371_000


def record_app_steps(uow: UnitOfWork, command: RecordAppSteps, now: datetime) -> int:
    """Keep the steps the app reports for its visit, each on its city's day; a repeat is
    kept once. How many were new. Raises InvalidInput `invalid_step` for a step the
    platform records itself, NotFound `city_not_found` for a city it does not know."""
    for reported in command.steps:
        if reported.step not in APP_STEPS:
            raise InvalidInput(f"the app does not report {reported.step}", "invalid_step")
    with uow:
        zones: dict[str, str] = {}
        for city_id in {reported.city_id for reported in command.steps}:
            zone = uow.cities.timezone_of(city_id)
            if zone is None:
                raise NotFound(f"no city {city_id}", "city_not_found")
            zones[city_id] = zone
        marks = [
            FunnelMark(
                reported.city_id,
                local_day(now, zones[reported.city_id]),
                reported.step,
                visit_id=command.visit_id,
            )
            for reported in command.steps
        ]
        new = uow.funnel.add(marks)
        uow.commit()
    return new


def scan_marked(
    uow: UnitOfWork,
    city_id: str,
    time_zone: str | None,
    now: datetime,
    rental_id: UUID,
    visit_id: UUID | None,
    failure: str | None = None,
) -> None:
    """In the scan's own transaction: the visit scanned and started `rental_id` (and did
    not get it unlocked, for `failure`, when the scan already knows). Nothing for a city
    without a time zone (its days are unknown)."""
    if time_zone is None:
        return
    day = local_day(now, time_zone)
    marks = [FunnelMark(city_id, day, Step.SCAN, visit_id=visit_id, rental_id=rental_id)]
    if failure is not None:
        marks.append(FunnelMark(city_id, day, Step.UNLOCKED, failure, visit_id, rental_id))
    uow.funnel.add(marks)


def refusal_marked(
    uow: UnitOfWork, asset_code: str, visit_id: UUID | None, refusal: RentalError, now: datetime
) -> None:
    """The visit scanned `asset_code` and was refused (`refusal.code`: deposit_required,
    debt_outstanding, ...), in a transaction of its own (the scan's was rolled back). A
    repeated request is no refusal; an asset the platform does not know is in no city."""
    if isinstance(refusal, DuplicateRequest | KeyReused):
        return
    try:
        with uow:
            asset = uow.assets.by_code(asset_code)
            zone = None if asset is None else uow.cities.timezone_of(asset.city_id)
            if asset is None or zone is None:
                return
            day = local_day(now, zone)
            uow.funnel.add(
                [
                    FunnelMark(asset.city_id, day, Step.SCAN, visit_id=visit_id),
                    FunnelMark(asset.city_id, day, Step.UNLOCKED, refusal.code, visit_id),
                ]
            )
            uow.commit()
    except RentalError as error:
        log.warning("the funnel missed a refused scan of %s: %s", asset_code, error)


def quote_marked(uow: UnitOfWork, quote: Quote, visit_id: UUID, now: datetime) -> bool:
    """The visit's unlock screen said the asset cannot be taken, or a deposit is due: a
    drop-out before the scan, in the scan's words (`lock_offline`, `deposit_required`, ...).
    False when the rider may scan, or the city is gone."""
    reason = quote_drop_out(quote.unavailable, quote.deposit_due_minor)
    if reason is None:
        return False
    with uow:
        zone = uow.cities.timezone_of(quote.city_id)
        if zone is None:
            return False
        day = local_day(now, zone)
        uow.funnel.add([FunnelMark(quote.city_id, day, Step.SCAN, reason, visit_id)])
        uow.commit()
    return True


def rental_followed(
    uow: UnitOfWork, rental_id: UUID, step: Step, at: datetime, reason: str = ""
) -> None:
    """In the caller's transaction: the rental's visit reached `step` (or did not, for
    `reason`)."""
    uow.funnel.follow(rental_id, step, at, reason)


def nothing_nearby(uow: UnitOfWork, search: NothingNearby, now: datetime) -> bool:
    """The visit's map found no vehicle: a `nothing_nearby` drop-out before a vehicle
    was viewed, in the city whose centre is nearest the search (within CITY_REACH_M).
    False when no city is that near, or the mark could not be kept (logged: the search is
    answered all the same). The position is not kept."""
    try:
        with uow:
            near = [
                (_metres(search.lon, search.lat, city.center_lon, city.center_lat), city)
                for city in uow.cities.all()
                if not city.is_retired
            ]
            near = [(metres, city) for metres, city in near if metres <= CITY_REACH_M]
            if not near:
                return False
            city = min(near, key=lambda found: (found[0], found[1].id))[1]
            day = local_day(now, city.time_zone)
            mark = FunnelMark(city.id, day, Step.VEHICLE_VIEWED, NOTHING_NEARBY, search.visit_id)
            uow.funnel.add([mark])
            uow.commit()
    except RentalError as error:
        log.warning("the funnel missed a search that found nothing: %s", error)
        return False
    return True


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine), metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Funnel:
    city_id: str
    time_zone: str
    first_day: date  # the city's calendar days, both included
    last_day: date
    steps: list[StepFigures]  # every step, in the riders' order


def funnel(
    uow: UnitOfWork, city_id: str, first_day: date | None, last_day: date | None, now: datetime
) -> Funnel:
    """The city's funnel over its days `first_day`..`last_day` (default: the 7 days up to
    today, the city's). Raises NotFound `city_not_found`, InvalidInput `invalid_days` for
    a range backwards or longer than MAX_DAYS."""
    with uow:
        zone = uow.cities.timezone_of(city_id)
        if zone is None:
            raise NotFound(f"no city {city_id}", "city_not_found")
        last = last_day or local_day(now, zone)
        first = first_day or last - timedelta(days=6)
        if first > last or (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"the days must run forwards, {MAX_DAYS} at most", "invalid_days")
        counts = uow.funnel.counts(city_id, first, last)
    return Funnel(city_id, zone, first, last, funnel_steps(counts))


def forget_old_marks(uow: UnitOfWork, now: datetime, keep: timedelta) -> int:
    """Forget the marks of days wholly older than `keep`; how many went."""
    before = (now - keep).date()
    return in_batches(uow, lambda: uow.funnel.forget_before(before, BATCH))
