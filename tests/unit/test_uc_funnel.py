"""The rider funnel in memory: the app's steps and the platform's joined by the app's
visit, refusals and failed unlocks as drop-outs with their codes, a map with nothing
near, and what operators read."""

import uuid
from datetime import date, timedelta

import pytest

from rental.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from rental.domain.fleet import ServicePolicy, UnavailableReason
from rental.domain.funnel import (
    NOTHING_NEARBY,
    SCAN_CODE_OF_UNAVAILABLE,
    Step,
    StepCount,
    funnel_steps,
    quote_drop_out,
)
from rental.domain.riders import User
from rental.services import funnel, pricing
from rental.services.commands.funnel import AppStep, NothingNearby, RecordAppSteps
from rental.services.commands.rides import QuoteAsset, RequestUnlock
from rental.services.rentals import Unlocking, request_unlock
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.world import (
    BIKE_PRICE,
    CITY,
    HOME,
    OTHER_CITY,
    START,
    UNLOCK_BOOT,
    UNLOCK_TIMEOUT,
    World,
    closed,
    unlocked,
)

POLICY = ServicePolicy()
APP = (Step.MAP_OPENED, Step.VEHICLE_VIEWED, Step.PRICE_SEEN)
TODAY = date(2026, 3, 2)  # START in Shanghai


@pytest.fixture
def world() -> World:
    return World()


def app_steps(world: World, visit: uuid.UUID, *steps: Step, city: str = CITY) -> int:
    command = RecordAppSteps(visit, tuple(AppStep(city, step) for step in steps))
    return funnel.record_app_steps(world.uow(), command, START)


def scan(world: World, rider: User, code: str, visit: uuid.UUID | None):
    command = RequestUnlock(rider.id, code, uuid.uuid4().hex, visit)
    return request_unlock(world.uow(), world.commands, command, START, Unlocking(UNLOCK_TIMEOUT))


def read(world: World, city: str = CITY) -> dict[Step, tuple[int, dict[str, int]]]:
    """Each step's visits and drop-outs, today's."""
    found = funnel.funnel(world.uow(), city, None, None, START)
    return {
        figures.step: (figures.visits, {d.reason: d.visits for d in figures.drop_outs})
        for figures in found.steps
    }


def reached(world: World) -> list[int]:
    return [visits for visits, _ in read(world).values()]


def test_a_visit_that_rides_is_counted_at_every_step(world):
    visit = uuid.uuid4()
    app_steps(world, visit, *APP)
    rental = scan(world, world.add_rider(), world.add_bike("L-1").code, visit)
    world.report(unlocked(rental))
    world.report(closed(rental.lock_id, UNLOCK_BOOT, 11, START + timedelta(minutes=9)))
    assert reached(world) == [1, 1, 1, 1, 1, 1]
    assert [
        figures.conversion for figures in funnel.funnel(world.uow(), CITY, None, None, START).steps
    ] == [None, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_the_apps_repeats_count_once_and_visits_apart(world):
    first, second = uuid.uuid4(), uuid.uuid4()
    assert app_steps(world, first, Step.MAP_OPENED, Step.MAP_OPENED) == 1
    assert app_steps(world, first, Step.MAP_OPENED) == 0
    app_steps(world, second, Step.MAP_OPENED, Step.VEHICLE_VIEWED)
    assert reached(world)[:3] == [2, 1, 0]


def test_a_scan_without_the_apps_visit_counts_too(world):
    for number in range(2):
        scan(world, world.add_rider(), world.add_bike(f"L-{number}").code, None)
    assert read(world)[Step.SCAN] == (2, {})


def test_a_deposit_needed_is_a_drop_out_before_the_unlock(world):
    with world.uow() as unit:
        unit.pricing_plans.publish(CITY, "bike", BIKE_PRICE, 9_900, None)
        unit.commit()
    visit = uuid.uuid4()
    with pytest.raises(Conflict, match="deposit"):
        scan(world, world.add_rider(), world.add_bike("L-1").code, visit)
    funnel_now = read(world)
    assert funnel_now[Step.SCAN] == (1, {})
    assert funnel_now[Step.UNLOCKED] == (0, {"deposit_required": 1})


def test_an_offline_lock_and_an_unanswered_unlock_are_drop_outs_with_their_reasons(world):
    offline = world.add_bike("L-off")
    with world.uow() as unit:
        unit.locks.record_presence("L-off", False, 2, START)
        unit.commit()
    scan(world, world.add_rider(), offline.code, uuid.uuid4())
    silent = scan(world, world.add_rider(), world.add_bike("L-quiet").code, uuid.uuid4())
    world.time_out(silent)
    assert read(world)[Step.UNLOCKED] == (0, {"lock_offline": 1, "timeout": 1})


def test_what_the_unlock_screen_said_stops_a_visit_before_the_scan(world):
    with world.uow() as unit:
        unit.pricing_plans.publish(CITY, "bike", BIKE_PRICE, 9_900, None)
        unit.commit()
    visit, rider = uuid.uuid4(), world.add_rider()
    bike = world.add_bike("L-1")
    due = pricing.quote(world.uow(), QuoteAsset(rider.id, bike.code), START, POLICY)
    assert funnel.quote_marked(world.uow(), due, visit, START)
    offline = world.add_bike("L-off")
    with world.uow() as unit:
        unit.locks.record_presence("L-off", False, 2, START)
        unit.commit()
    dark = pricing.quote(world.uow(), QuoteAsset(rider.id, offline.code), START, POLICY)
    assert funnel.quote_marked(world.uow(), dark, visit, START)
    assert funnel.quote_marked(world.uow(), dark, visit, START)  # shown again: kept once
    assert read(world)[Step.SCAN] == (0, {"deposit_required": 1, "lock_offline": 1})


def test_every_reason_an_asset_cannot_be_taken_has_the_scans_word():
    assert {reason.value for reason in UnavailableReason} | {"no_price"} == set(
        SCAN_CODE_OF_UNAVAILABLE
    )
    assert quote_drop_out(["offline", "low_battery"], 9_900) == "lock_offline"
    assert quote_drop_out([], 0) is None


def test_an_asset_nobody_knows_is_in_no_citys_funnel(world):
    with pytest.raises(NotFound):
        scan(world, world.add_rider(), "BK-NOBODY", uuid.uuid4())
    assert reached(world) == [0] * 6


def test_a_map_with_nothing_near_is_a_drop_out_before_a_vehicle_is_viewed(world):
    other = world.store.cities[OTHER_CITY]
    world.store.cities[OTHER_CITY] = other.configured(center=(HOME[0] + 0.3, HOME[1]))
    visit = uuid.uuid4()
    assert funnel.nothing_nearby(world.uow(), NothingNearby(*HOME, visit), START)
    far = NothingNearby(2.35, 48.85, visit)  # Paris: no city of this world near
    assert not funnel.nothing_nearby(world.uow(), far, START)
    assert read(world)[Step.VEHICLE_VIEWED] == (0, {NOTHING_NEARBY: 1})


class Away(FakeUnitOfWork):
    """A database that does not answer."""

    def __enter__(self):
        raise Unavailable("the database cannot be reached")


def test_a_search_is_answered_though_its_mark_cannot_be_kept(world):
    assert not funnel.nothing_nearby(Away(world.store), NothingNearby(*HOME, uuid.uuid4()), START)


def test_the_app_reports_only_its_own_steps_in_known_cities(world):
    with pytest.raises(InvalidInput) as refusal:
        app_steps(world, uuid.uuid4(), Step.UNLOCKED)
    assert refusal.value.code == "invalid_step"
    with pytest.raises(NotFound):
        app_steps(world, uuid.uuid4(), Step.MAP_OPENED, city="atlantis")
    assert reached(world) == [0] * 6


def test_a_city_reads_its_own_days_only(world):
    app_steps(world, uuid.uuid4(), Step.MAP_OPENED, city=OTHER_CITY)
    app_steps(world, uuid.uuid4(), Step.MAP_OPENED)
    yesterday = funnel.funnel(
        world.uow(), CITY, TODAY - timedelta(days=1), TODAY - timedelta(days=1), START
    )
    assert yesterday.steps[0].visits == 0
    assert read(world)[Step.MAP_OPENED] == (1, {})


@pytest.mark.parametrize(
    ("first", "last"),
    [(TODAY, TODAY - timedelta(days=1)), (TODAY - timedelta(days=90), TODAY)],
    ids=["backwards", "longer than 90 days"],
)
def test_a_range_backwards_or_too_long_is_refused(world, first, last):
    with pytest.raises(InvalidInput) as refusal:
        funnel.funnel(world.uow(), CITY, first, last, START)
    assert refusal.value.code == "invalid_days"


def test_marks_past_their_retention_are_forgotten(world):
    app_steps(world, uuid.uuid4(), Step.MAP_OPENED)
    later = START + timedelta(days=3)
    assert funnel.forget_old_marks(world.uow(), later, timedelta(days=5)) == 0
    assert funnel.forget_old_marks(world.uow(), later, timedelta(days=1)) == 1
    assert world.store.funnel_marks == []


def test_conversion_is_from_the_step_before_and_drop_outs_come_most_first():
    figures = funnel_steps(
        [
            StepCount(Step.MAP_OPENED, "", 10),
            StepCount(Step.VEHICLE_VIEWED, "", 4),
            StepCount(Step.VEHICLE_VIEWED, NOTHING_NEARBY, 3),
            StepCount(Step.UNLOCKED, "debt_outstanding", 1),
            StepCount(Step.UNLOCKED, "deposit_required", 2),
        ]
    )
    assert [f.conversion for f in figures] == [None, 0.4, 0.0, None, None, None]
    assert [d.reason for d in figures[4].drop_outs] == ["deposit_required", "debt_outstanding"]
