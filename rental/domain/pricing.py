"""Fares: a rate per started interval after an optional unlock fee.

A rental keeps a copy of the tariff it started with, so a price change never
touches a trip already under way.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tariff:
    currency: str
    unlock_fee_minor: int
    rate_per_interval_minor: int
    interval_seconds: int

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if self.unlock_fee_minor < 0 or self.rate_per_interval_minor < 0:
            raise ValueError("prices cannot be negative")


# Mobike's classic city price: 1.50 CNY per started 30 minutes.
DEFAULT_BIKE_TARIFF = Tariff(
    currency="CNY", unlock_fee_minor=0, rate_per_interval_minor=150, interval_seconds=1800
)


def started_intervals(duration_seconds: int, interval_seconds: int) -> int:
    """Every started interval counts; a zero-length trip still pays one."""
    return max(1, -(-duration_seconds // interval_seconds))


def fare_for(duration_seconds: int, tariff: Tariff) -> int:
    if duration_seconds < 0:
        raise ValueError("duration cannot be negative")
    intervals = started_intervals(duration_seconds, tariff.interval_seconds)
    return tariff.unlock_fee_minor + intervals * tariff.rate_per_interval_minor


def tariff_for(kind: str, currency: str) -> Tariff:
    """The price a new rental of this kind starts with (city plans come with pricing plans)."""
    base = DEFAULT_BIKE_TARIFF
    return Tariff(
        currency, base.unlock_fee_minor, base.rate_per_interval_minor, base.interval_seconds
    )
