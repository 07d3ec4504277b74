"""Fares: an unlock fee, free minutes, a rate per started interval, a daily cap.

A rental keeps a copy of the tariff it started with, so a price change never
touches a trip already under way.
"""

from dataclasses import dataclass
from uuid import UUID

DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Tariff:
    currency: str
    unlock_fee_minor: int
    rate_per_interval_minor: int
    interval_seconds: int
    free_seconds: int = 0
    # The time charge of each started 24 hours never exceeds this.
    daily_cap_minor: int | None = None
    # Holding a vehicle before unlocking it, per started minute of the hold.
    reservation_per_minute_minor: int = 0
    # Added when a trip ends outside the service area or in a no-parking zone.
    out_of_zone_fee_minor: int = 0
    # An item never returned: its rental ends, costing this, once its fare reaches it.
    replacement_price_minor: int | None = None

    def __post_init__(self) -> None:
        if not 60 <= self.interval_seconds <= DAY_SECONDS:
            raise ValueError("interval_seconds must be between a minute and a day")
        if self.unlock_fee_minor < 0 or self.rate_per_interval_minor < 0:
            raise ValueError("prices cannot be negative")
        if not 0 <= self.free_seconds <= DAY_SECONDS:
            raise ValueError("free_seconds must be between 0 and a day")
        if self.daily_cap_minor is not None and self.daily_cap_minor < 0:
            raise ValueError("daily_cap_minor cannot be negative")
        if self.reservation_per_minute_minor < 0 or self.out_of_zone_fee_minor < 0:
            raise ValueError("fees cannot be negative")
        if self.replacement_price_minor is not None and self.replacement_price_minor <= 0:
            raise ValueError("replacement_price_minor must be positive")


@dataclass(frozen=True)
class PricingPlan:
    """The price of one asset kind in one city; a new version retires the previous one."""

    id: UUID
    city_id: str
    kind: str
    tariff: Tariff
    deposit_minor: int = 0
    deposit_waiver_score: int | None = None  # None: the deposit is never waived


def started_intervals(seconds: int, interval_seconds: int) -> int:
    return -(-seconds // interval_seconds)


def time_charge(billable_seconds: int, tariff: Tariff) -> int:
    """Every started interval counts; each started day is capped on its own."""
    full_days, rest = divmod(billable_seconds, DAY_SECONDS)
    whole_day = started_intervals(DAY_SECONDS, tariff.interval_seconds)
    part_day = started_intervals(rest, tariff.interval_seconds)
    return full_days * _capped(whole_day, tariff) + _capped(part_day, tariff)


def _capped(intervals: int, tariff: Tariff) -> int:
    charge = intervals * tariff.rate_per_interval_minor
    return charge if tariff.daily_cap_minor is None else min(charge, tariff.daily_cap_minor)


def fare_for(duration_seconds: int, tariff: Tariff) -> int:
    """A trip within the free minutes costs nothing; any other pays at least one interval."""
    if duration_seconds < 0:
        raise ValueError("duration cannot be negative")
    if tariff.free_seconds and duration_seconds <= tariff.free_seconds:
        return 0
    billable = max(1, duration_seconds - tariff.free_seconds)
    return tariff.unlock_fee_minor + time_charge(billable, tariff)


def describe(tariff: Tariff) -> str:
    """What the rider reads before unlocking, e.g. '1.50 CNY per 30 min'."""
    parts = []
    if tariff.unlock_fee_minor:
        parts.append(f"{format_amount(tariff.unlock_fee_minor, tariff.currency)} to unlock")
    per = _duration(tariff.interval_seconds)
    parts.append(f"{format_amount(tariff.rate_per_interval_minor, tariff.currency)} per {per}")
    if tariff.free_seconds:
        parts.append(f"first {_duration(tariff.free_seconds)} free")
    if tariff.daily_cap_minor is not None:
        parts.append(f"at most {format_amount(tariff.daily_cap_minor, tariff.currency)} a day")
    return ", ".join(parts)


def format_amount(minor: int, currency: str) -> str:
    """12345, "CNY" -> "123.45 CNY" (currencies with two minor digits)."""
    return f"{minor // 100}.{minor % 100:02d} {currency}"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} h"
    return f"{seconds // 60} min"


@dataclass(frozen=True)
class FareLine:
    """One line of a receipt. `kind` and `count` let an app say it in the rider's language:
    free, unlock, riding (`count` intervals), daily_cap, parking_fee."""

    kind: str
    label: str
    amount_minor: int
    count: int = 1


def fare_lines(duration_seconds: int, tariff: Tariff) -> list[FareLine]:
    """The fare itemised for a receipt; the amounts always add up to fare_for()."""
    if tariff.free_seconds and duration_seconds <= tariff.free_seconds:
        return [FareLine("free", f"Within the first {_duration(tariff.free_seconds)} (free)", 0)]
    lines = []
    if tariff.unlock_fee_minor:
        lines.append(FareLine("unlock", "Unlock", tariff.unlock_fee_minor))
    billable = max(1, duration_seconds - tariff.free_seconds)
    intervals = started_intervals(billable, tariff.interval_seconds)
    riding = time_charge(billable, tariff)
    label = f"Riding: {intervals} x {_duration(tariff.interval_seconds)}"
    if tariff.free_seconds:
        label += f" after {_duration(tariff.free_seconds)} free"
    lines.append(FareLine("riding", label, intervals * tariff.rate_per_interval_minor, intervals))
    capped = riding - intervals * tariff.rate_per_interval_minor
    if capped:
        lines.append(FareLine("daily_cap", "Daily cap", capped))
    return lines
