"""A city's nightly rebalancing run comes once a night at its local hour, in any time zone
and across both changes of daylight saving time; a night missed while the job was down is
caught up when it starts again, if the morning is not long gone."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rental.domain.rebalancing import (
    PlanState,
    RebalancingPlan,
    RunTrigger,
    TruckFleet,
    TruckSpec,
    nightly_run_is_due,
)

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)


def fleet(hour: int) -> TruckFleet:
    return TruckFleet(
        "city", (13.4, 52.5), (TruckSpec(10, 6.0),), 25.0, nightly_hour=hour, time_limit_seconds=2
    )


def nightly_plan(started_at: datetime) -> RebalancingPlan:
    return RebalancingPlan(uuid.uuid4(), "city", 1, PlanState.READY, RunTrigger.NIGHTLY, started_at)


def runs(hour: int, zone: ZoneInfo, start: datetime, end: datetime, down=()) -> list[datetime]:
    """The schedule ticking every minute from `start` to `end` (UTC), but not while `down`
    (pairs of UTC instants): when each nightly run started, in local time."""
    trucks, last, started = fleet(hour), None, []
    now = start
    while now < end:
        running = not any(a <= now < b for a, b in down)
        if running and nightly_run_is_due(last, trucks.latest_nightly_time(now, zone), now):
            last = nightly_plan(now)
            started.append(now.astimezone(zone))
        now += MINUTE
    return started


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


def utc(zone: ZoneInfo, *parts: int) -> datetime:
    return local(zone, *parts).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "night", "hour", "expected"),
    [
        # Spring forward: 02:00 does not exist; the run comes at the first minute after.
        (BERLIN, (2027, 3, 28), 2, (3, 0)),
        (NEW_YORK, (2027, 3, 14), 2, (3, 0)),
        (BERLIN, (2027, 3, 28), 1, (1, 0)),
        (BERLIN, (2027, 3, 28), 3, (3, 0)),
        # Fall back: the hour that comes twice gets one run, at its first coming.
        (BERLIN, (2027, 10, 31), 2, (2, 0)),
        (NEW_YORK, (2027, 11, 7), 1, (1, 0)),
        (NEW_YORK, (2027, 11, 7), 2, (2, 0)),
    ],
)
def test_one_run_a_night_across_daylight_saving_changes(zone, night, hour, expected):
    y, m, d = night
    start = utc(zone, y, m, d, 12, 0) - timedelta(hours=16)  # the evening before
    end = utc(zone, y, m, d, 12, 0) + timedelta(hours=32)  # the evening after

    started = runs(hour, zone, start, end)

    day_after = (local(zone, y, m, d, 12, 0) + timedelta(days=1)).day
    assert [(t.day, t.hour, t.minute) for t in started] == [(d, *expected), (day_after, hour, 0)]
    # Exactly then: a missing hour's run is at the gap's end, an ambiguous one's at its first.
    assert started[0].astimezone(UTC) == utc(zone, y, m, d, hour, 0)


def test_the_ambiguous_hour_runs_at_its_first_coming_not_its_second():
    started = runs(2, BERLIN, utc(BERLIN, 2027, 10, 30, 20, 0), utc(BERLIN, 2027, 10, 31, 12, 0))
    assert len(started) == 1
    assert started[0].astimezone(UTC) == datetime(2027, 10, 31, 0, 0, tzinfo=UTC)  # 02:00 CEST


def test_a_night_missed_while_the_job_was_down_is_made_when_it_starts():
    down = [(utc(BERLIN, 2027, 5, 3, 1, 30), utc(BERLIN, 2027, 5, 3, 5, 17))]
    started = runs(2, BERLIN, utc(BERLIN, 2027, 5, 2, 20, 0), utc(BERLIN, 2027, 5, 3, 12, 0), down)
    assert [(t.hour, t.minute) for t in started] == [(5, 17)]


def test_a_night_missed_by_more_than_half_a_day_waits_for_the_next():
    down = [(utc(BERLIN, 2027, 5, 3, 1, 0), utc(BERLIN, 2027, 5, 3, 15, 0))]
    started = runs(2, BERLIN, utc(BERLIN, 2027, 5, 2, 20, 0), utc(BERLIN, 2027, 5, 4, 12, 0), down)
    assert [(t.day, t.hour) for t in started] == [(4, 2)]
