"""A trip's path from the lock's GPS fixes: ordered by the lock's clock, repeats dropped,
outliers (poor accuracy, impossible jumps) filtered out, and where the trip really ended.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

# Consumer GPS is good to ~5-15 m in the open; beyond this a fix says little.
MAX_ACCURACY_M = 50.0
# Faster than any e-bike (25 km/h by law in China) with a wide margin: only jumps exceed it.
MAX_PLAUSIBLE_SPEED_MPS = 20.0
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Fix:
    recorded_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None = None


def is_valid_position(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0


def position_of(lon: object, lat: object) -> tuple[float, float] | None:
    """(lon, lat) from values a request sent; None unless both are numbers in WGS 84."""
    if isinstance(lon, bool) or isinstance(lat, bool):
        return None
    if not (isinstance(lon, int | float) and isinstance(lat, int | float)):
        return None
    return (float(lon), float(lat)) if is_valid_position(lon, lat) else None


def distance_m(a: Fix, b: Fix) -> float:
    """Great-circle distance (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a.lon, a.lat, b.lon, b.lat))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def speed_mps(a: Fix, b: Fix) -> float:
    seconds = abs((b.recorded_at - a.recorded_at).total_seconds())
    meters = distance_m(a, b)
    if seconds == 0:
        return 0.0 if meters == 0 else math.inf
    return meters / seconds


def is_jump(a: Fix, b: Fix) -> bool:
    """Too far to be GPS noise, too fast to be a bike."""
    return distance_m(a, b) > MAX_ACCURACY_M and speed_mps(a, b) > MAX_PLAUSIBLE_SPEED_MPS


def is_spike(before: Fix, fix: Fix, after: Fix) -> bool:
    """A fix that leaps away and straight back: the two fixes around it lie close together.
    (A fast but straight path, as in a replay, is not a spike.)"""
    if not (is_jump(before, fix) and is_jump(fix, after)):
        return False
    return distance_m(before, after) < 0.5 * min(distance_m(before, fix), distance_m(fix, after))


def good_fixes(fixes: Iterable[Fix]) -> list[Fix]:
    """Fixes in time order without repeats, inaccurate fixes, spikes, and a first or last
    fix that jumps off the path (the trace so far, while a trip runs)."""
    good, _ = _without_jumping_ends(_without_spikes(_ordered(fixes)), closing=None)
    return good


def path_length_m(good: list[Fix]) -> float:
    return sum(distance_m(a, b) for a, b in pairwise(good))


def _is_usable(fix: Fix) -> bool:
    accurate = fix.accuracy_m is None or fix.accuracy_m <= MAX_ACCURACY_M
    return accurate and is_valid_position(fix.lon, fix.lat)


def _ordered(fixes: Iterable[Fix]) -> list[Fix]:
    ordered: list[Fix] = []
    for fix in sorted(fixes, key=lambda f: f.recorded_at):
        if not _is_usable(fix):
            continue
        if ordered and (ordered[-1].lon, ordered[-1].lat) == (fix.lon, fix.lat):
            continue
        ordered.append(fix)
    return ordered


def _without_spikes(ordered: list[Fix]) -> list[Fix]:
    kept: list[Fix] = []
    for number, fix in enumerate(ordered):
        after = ordered[number + 1] if number + 1 < len(ordered) else None
        if kept and after is not None and is_spike(kept[-1], fix, after):
            continue
        kept.append(fix)
    return kept


def _jumps_off(end: Fix, neighbour: Fix, beyond: Fix) -> bool:
    """The fix at an end of the trace jumps from a path that was plausible up to it. (When
    the path itself already moves in jumps, as a fast replay does, the end follows it.)"""
    return is_jump(neighbour, end) and not is_jump(beyond, neighbour)


def _without_jumping_ends(kept: list[Fix], closing: Fix | None) -> tuple[list[Fix], bool]:
    """An end fix has one neighbour, so it cannot be a spike: it is left out when it jumps
    off the path, or (the last) when the lock's closing position comes back to the path.
    Also says whether the last fix was left out. Two fixes alone say nothing about which
    of them is wrong."""
    first_jumps = len(kept) >= 3 and _jumps_off(kept[0], kept[1], kept[2])
    last_jumps = len(kept) >= 3 and _jumps_off(kept[-1], kept[-2], kept[-3])
    if not last_jumps and closing is not None and len(kept) >= 2:
        last_jumps = is_spike(kept[-2], kept[-1], closing)
    return kept[int(first_jumps) : len(kept) - int(last_jumps)], last_jumps


@dataclass(frozen=True)
class EndPosition:
    lon: float | None
    lat: float | None
    doubt: str | None  # why the position may be wrong; None when it is trusted

    @property
    def known(self) -> bool:
        return self.lon is not None and self.lat is not None


def end_position(
    good: list[Fix], reported: Fix | None, *, last_fix_jumped: bool = False
) -> EndPosition:
    """Where the bike was locked: the lock's own report when plausible, else the last good
    fix, with the doubt recorded. `good` holds the trip's good fixes, oldest first;
    `last_fix_jumped` says the trace's final fix was left out as a jump, which leaves the
    end in doubt however plausible the report (a doubtful position never costs a fee)."""
    last = good[-1] if good else None
    jumped = "the last GPS fix jumped off the trip's path" if last_fix_jumped else None
    if reported is None or not is_valid_position(reported.lon, reported.lat):
        problem = "the lock reported no position when it locked"
    elif reported.accuracy_m is not None and reported.accuracy_m > MAX_ACCURACY_M:
        problem = f"the lock's position was accurate only to {reported.accuracy_m:.0f} m"
    elif last is not None and is_jump(last, reported):
        problem = "the lock's position jumped implausibly far from the trip's path"
    elif jumped:
        return EndPosition(
            reported.lon, reported.lat, f"{jumped}; the lock's own position was used"
        )
    else:
        return EndPosition(reported.lon, reported.lat, None)
    problems = f"{problem}; {jumped}" if jumped else problem
    if last is None:
        return EndPosition(None, None, problems)
    return EndPosition(last.lon, last.lat, f"{problems}; the last good fix was used")


@dataclass(frozen=True)
class EndedTrace:
    """A finished trip: its good fixes, oldest first, and where it ended."""

    good: list[Fix]
    end: EndPosition


def ended_trace(fixes: Iterable[Fix], reported: Fix | None) -> EndedTrace:
    """The trace of a trip the lock closed at `reported` (its own position, if any): the
    closing position is the last fix's other neighbour, and a last fix left out as a jump
    leaves the end in doubt."""
    closing = reported if reported is not None and _is_usable(reported) else None
    kept = _without_spikes(_ordered(fixes))
    good, last_fix_jumped = _without_jumping_ends(kept, closing)
    return EndedTrace(good, end_position(good, reported, last_fix_jumped=last_fix_jumped))


@dataclass(frozen=True)
class SpeedSample:
    recorded_at: datetime
    lon: float
    lat: float
    speed_kph: float


def speed_samples(good: list[Fix]) -> list[SpeedSample]:
    """The speed reached at each fix, from the fix before it; a leap no bike could make
    (a gap in the trace, a replayed route) is no speed at all."""
    return [
        SpeedSample(b.recorded_at, b.lon, b.lat, speed_mps(a, b) * 3.6)
        for a, b in pairwise(good)
        if not is_jump(a, b)
    ]
