"""How many bikes each hotspot needs by morning, from the trips that started there.

The method, kept simple so an operator can check it by hand:
- A hotspot's demand on a day is the number of trips that started in it between 06:00
  and 10:00, local time.
- The forecast for a day is the mean demand of the same weekday over the previous four
  weeks (weekdays differ: a business district is empty on Sunday). Weeks without any
  data are left out; no history at all forecasts nothing.
- The target is the forecast plus a 20% buffer, rounded up: trips that did not happen
  because no bike was there are not in the data, so observed starts understate demand.
- Optionally (a city's `unmet_demand_weight`, 0 by default: off), searches in the
  morning hours that found no vehicle there count too: each adds `weight` starts to its
  day before the forecast (`with_unmet`). It is the part of the demand the trips cannot
  show; the weight says how many rides an operator believes one such search stands for.

Its error is measured the honest way, on held-out days: each of the last days is
forecast from the weeks before it only, and compared with what happened.
"""

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MORNING_HOURS = (6, 10)  # local time, [start, end)
WEEKS_BACK = 4
BUFFER = 0.2
# The forecast's error is measured on the week before the morning.
HELD_OUT_DAYS = 7
# The trips a run reads: the held-out week forecast from the weeks before it, and a margin.
HISTORY_DAYS = 7 * (WEEKS_BACK + 2)

# Trip starts per hotspot and day: {hotspot: {day: starts}}; a missing day had none.
Starts = Mapping[str, Mapping[date, int]]
# Per day; fractional once unmet searches are weighted in (`with_unmet`).
DayCounts = Mapping[date, float]


def coming_morning(now: datetime, zone: ZoneInfo) -> date:
    """The morning the trucks work for: today's before 06:00 local time, else tomorrow's."""
    local = now.astimezone(zone)
    return local.date() if local.hour < MORNING_HOURS[0] else local.date() + timedelta(1)


def forecast(starts_by_day: DayCounts, day: date, first_day: date) -> float:
    """Mean starts on the same weekday of the previous weeks that lie within the data
    (`first_day` is the first day the city has data for)."""
    earlier = [day - timedelta(weeks=week) for week in range(1, WEEKS_BACK + 1)]
    known = [starts_by_day.get(past, 0) for past in earlier if past >= first_day]
    return statistics.mean(known) if known else 0.0


def target(starts_by_day: DayCounts, day: date, first_day: date) -> int:
    return math.ceil(forecast(starts_by_day, day, first_day) * (1 + BUFFER))


def with_unmet(starts_by_day: DayCounts, unmet_by_day: DayCounts, weight: float) -> DayCounts:
    """Each day's starts plus `weight` times the searches that found no vehicle that day;
    the starts themselves at weight 0."""
    if weight == 0 or not unmet_by_day:
        return starts_by_day
    days = set(starts_by_day) | set(unmet_by_day)
    return {day: starts_by_day.get(day, 0) + weight * unmet_by_day.get(day, 0) for day in days}


@dataclass(frozen=True)
class ForecastError:
    days: int  # held-out days measured
    hotspot_days: int
    mean_absolute_error: float  # trips per hotspot and morning
    mean_actual: float  # for scale: the error as a share of this
    bias: float  # forecast minus actual, on average (> 0: too many bikes)


def held_out_error(starts: Starts, days: list[date], first_day: date) -> ForecastError:
    """Each day of `days` forecast from the weeks before it, against what happened."""
    errors, actuals, biases = [], [], []
    for hotspot_starts in starts.values():
        for day in days:
            predicted = forecast(hotspot_starts, day, first_day)
            actual = hotspot_starts.get(day, 0)
            errors.append(abs(predicted - actual))
            biases.append(predicted - actual)
            actuals.append(actual)
    if not errors:
        return ForecastError(len(days), 0, 0.0, 0.0, 0.0)
    return ForecastError(
        len(days),
        len(errors),
        statistics.mean(errors),
        statistics.mean(actuals),
        statistics.mean(biases),
    )


def error_before(starts: Starts, morning: date, first_day: date) -> ForecastError:
    """The forecast's error on each of the `HELD_OUT_DAYS` days before `morning`."""
    days = [morning - timedelta(days=day) for day in range(1, HELD_OUT_DAYS + 1)]
    return held_out_error(starts, days, first_day)
