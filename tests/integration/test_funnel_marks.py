"""The rider funnel's marks on PostgreSQL: an app's repeat kept once, a rental's later
steps joined to its scan's visit on the city's day, visits counted once per step and
reason, and old days forgotten."""

import uuid
from datetime import UTC, date, datetime

import pytest

from rental.domain.cities import City
from rental.domain.funnel import FunnelMark, Step, StepCount

CITY = "funnelmarks"
DAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def city(platform):
    with platform.uow() as uow:
        uow.cities.add(City(CITY, "Funnel", "Asia/Shanghai", "CNY", "zh-CN", 121.47, 31.23))
        uow.commit()


def add(platform, *marks: FunnelMark) -> int:
    with platform.uow() as uow:
        added = uow.funnel.add(list(marks))
        uow.commit()
    return added


def counts(platform, first: date = DAY, last: date = DAY) -> set[StepCount]:
    with platform.uow() as uow:
        return set(uow.funnel.counts(CITY, first, last))


def test_an_apps_repeat_is_kept_once_and_visits_are_counted_apart(platform):
    one, two = uuid.uuid4(), uuid.uuid4()
    opened = FunnelMark(CITY, DAY, Step.MAP_OPENED, visit_id=one)
    assert add(platform, opened, opened) == 1
    assert add(platform, opened, FunnelMark(CITY, DAY, Step.MAP_OPENED, visit_id=two)) == 1
    assert counts(platform) == {StepCount(Step.MAP_OPENED, "", 2)}


def test_a_rentals_later_steps_join_its_scans_visit_on_the_citys_day(platform):
    visit, rental, anonymous = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    add(
        platform,
        FunnelMark(CITY, DAY, Step.SCAN, visit_id=visit, rental_id=rental),
        FunnelMark(CITY, DAY, Step.SCAN, rental_id=anonymous),
        FunnelMark(CITY, DAY, Step.SCAN),  # a refused scan outside any visit
        FunnelMark(CITY, DAY, Step.SCAN),
    )
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on the 1st in Shanghai
    with platform.uow() as uow:
        assert uow.funnel.follow(rental, Step.UNLOCKED, late)
        assert uow.funnel.follow(anonymous, Step.UNLOCKED, late, "timeout")
        assert not uow.funnel.follow(uuid.uuid4(), Step.UNLOCKED, late)
        uow.commit()
    assert counts(platform) == {StepCount(Step.SCAN, "", 4)}
    assert counts(platform, DAY, date(2026, 12, 1)) == {
        StepCount(Step.SCAN, "", 4),
        StepCount(Step.UNLOCKED, "", 1),
        StepCount(Step.UNLOCKED, "timeout", 1),
    }


def test_two_scans_of_one_visit_are_each_followed(platform):
    visit, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    scans = [FunnelMark(CITY, DAY, Step.SCAN, visit_id=visit, rental_id=r) for r in (first, second)]
    assert add(platform, *scans) == 2
    at = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    with platform.uow() as uow:
        assert uow.funnel.follow(first, Step.UNLOCKED, at, "timeout")
        assert uow.funnel.follow(second, Step.UNLOCKED, at)
        uow.commit()
    assert counts(platform) == {
        StepCount(Step.SCAN, "", 1),
        StepCount(Step.UNLOCKED, "timeout", 1),
        StepCount(Step.UNLOCKED, "", 1),
    }


def test_days_before_the_retention_are_forgotten(platform):
    add(
        platform,
        FunnelMark(CITY, date(2026, 11, 1), Step.MAP_OPENED, visit_id=uuid.uuid4()),
        FunnelMark(CITY, DAY, Step.MAP_OPENED, visit_id=uuid.uuid4()),
    )
    with platform.uow() as uow:
        assert uow.funnel.forget_before(DAY, 1000) == 1
        uow.commit()
    assert counts(platform, date(2026, 11, 1), DAY) == {StepCount(Step.MAP_OPENED, "", 1)}
