"""Fair use: the limits a sharing operator sets so that one account cannot hide the fleet,
pile up payment orders, or churn holds through the city's feeds.

- **Damage reports** come from riders who were at the asset: riding it, having ridden it
  in the last `after_ride`, or having tried to take it in the last `after_try` (a scan
  whose unlock failed, or a hold). Each of these cost the rider something the platform
  checks (a deposit paid or waived, no debt, a scan of the QR code on the asset), so a
  fresh account cannot report the whole fleet from a sofa. A qualifying report hides the
  asset at once until an operator looks (a rider who just felt the brakes fail is believed:
  waiting for a second reporter would send the next rider out on it), and a rider files
  at most `per_day` reports in any 24 hours.
- **Payment orders**: at most `open_orders` orders waiting for their payment per rider;
  each waits `pending_for`, then expires and stops counting. Money paid for an expired
  order is still credited (`rental.domain.payments.PaymentOrder.record_result`).
- **Holds**: `cancels` holds cancelled by the rider within `within` pause the rider's
  holds for `pause` after the last of them. Holds that ran out do not count: they are
  charged their whole length and last it, so they cannot churn.

Each check answers when the rider may try again (None: now), for the `LimitReached` error.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from rental.domain.rentals import Rental, RentalState
from rental.domain.reservations import Reservation


def _require_positive(**counts: int) -> None:
    """A limit of 0 would refuse everyone: a mistake in the settings, caught at start."""
    for name, count in counts.items():
        if count < 1:
            raise ValueError(f"{name} is at least 1, not {count}")


@dataclass(frozen=True)
class ReportingRules:
    # A rider rode the asset this recently: the fault was felt on the ride.
    after_ride: timedelta = timedelta(minutes=30)
    # A rider tried to take it this recently (a failed unlock, a hold): they stood at it.
    after_try: timedelta = timedelta(minutes=15)
    # Reports per rider in any 24 hours: a rider meets a few broken bikes, not dozens.
    per_day: int = 3

    def __post_init__(self) -> None:
        _require_positive(per_day=self.per_day)

    @property
    def looking_back(self) -> timedelta:
        """How far back a rider's rentals and holds can make a report allowed."""
        return max(self.after_ride, self.after_try)


REPORTING_DAY = timedelta(hours=24)
DEFAULT_REPORTING_RULES = ReportingRules()


def was_at_the_asset(
    rentals: Iterable[Rental], holds: Iterable[Reservation], now: datetime, rules: ReportingRules
) -> bool:
    """Whether these rentals and holds of one rider on one asset allow a damage report."""
    return any(_rental_allows(rental, now, rules) for rental in rentals) or any(
        _hold_allows(hold, now, rules) for hold in holds
    )


def _rental_allows(rental: Rental, now: datetime, rules: ReportingRules) -> bool:
    match rental.state:
        case RentalState.UNLOCKING | RentalState.ACTIVE:
            return True
        case RentalState.ENDED:
            return rental.ended_at is not None and now - rental.ended_at <= rules.after_ride
        case RentalState.FAILED:  # the rider scanned the code on the asset; it did not open
            return now - rental.requested_at <= rules.after_try
        case _:
            assert_never(rental.state)


def _hold_allows(hold: Reservation, now: datetime, rules: ReportingRules) -> bool:
    if hold.is_live(now):
        return True
    ended = hold.ended_at or hold.expires_at  # a hold that ran out but was not swept yet
    return now - ended <= rules.after_try


def reports_allowed_again_at(
    reported_at: Iterable[datetime], now: datetime, rules: ReportingRules
) -> datetime | None:
    """When the rider may report again, given when they reported; None: now."""
    return _window_frees_at(reported_at, now, rules.per_day, REPORTING_DAY)


@dataclass(frozen=True)
class PaymentOrderRules:
    # Orders waiting for their payment per rider: a rider pays one, perhaps retries twice.
    open_orders: int = 3
    # How long an order waits for its payment (a payer page is done in minutes).
    pending_for: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        _require_positive(open_orders=self.open_orders)


DEFAULT_PAYMENT_ORDER_RULES = PaymentOrderRules()


def orders_allowed_again_at(
    open_until: Iterable[datetime], now: datetime, rules: PaymentOrderRules
) -> datetime | None:
    """When the rider may open another order, given when their open ones expire; None: now."""
    still_open = sorted(at for at in open_until if at > now)
    if len(still_open) < rules.open_orders:
        return None
    return still_open[len(still_open) - rules.open_orders]


@dataclass(frozen=True)
class HoldRules:
    # This many holds cancelled by the rider within `within` ...
    cancels: int = 3
    within: timedelta = timedelta(hours=1)
    # ... pause the rider's holds for this long after the last of them.
    pause: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        _require_positive(cancels=self.cancels)

    @property
    def looking_back(self) -> timedelta:
        """How far back a cancel can still pause holds."""
        return self.within + self.pause


DEFAULT_HOLD_RULES = HoldRules()


def holds_allowed_again_at(
    cancelled_at: Iterable[datetime], now: datetime, rules: HoldRules
) -> datetime | None:
    """When the rider may hold a vehicle again, given when they cancelled holds; None: now.

    Holds pause from every cancel that is the `cancels`-th within `within`, for `pause`."""
    times = sorted(at for at in cancelled_at if at <= now)
    paused_until: datetime | None = None
    for index in range(rules.cancels - 1, len(times)):
        last = times[index]
        if last - times[index - rules.cancels + 1] <= rules.within:
            paused_until = last + rules.pause
    return paused_until if paused_until is not None and paused_until > now else None


def whole_minutes(length: timedelta) -> int:
    """A setting's length as riders read it in a message."""
    return int(length.total_seconds() // 60)


def _window_frees_at(
    times: Iterable[datetime], now: datetime, limit: int, window: timedelta
) -> datetime | None:
    """With at most `limit` events in any `window`: when the next one may happen."""
    recent = sorted(at for at in times if now - window < at <= now)
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + window
