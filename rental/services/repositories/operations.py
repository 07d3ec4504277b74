"""What operators read about a city's operation as a whole (the dashboard), computed by the
database. Implemented on PostgreSQL in `rental.adapters.operations`; the fake in
`tests/unit/fakes/` knows no figures (they are tested through PostgreSQL)."""

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from rental.domain.fleet import ServicePolicy
from rental.services.attention_items import Attention
from rental.services.dashboard_figures import DayFigures, HotspotFigures, HourFigures, UnlockFigures

# A value in an exported row (`rental.services.exports`).
Cell = str | int | float | bool | datetime | None


class OperationsReadModel(Protocol):
    def rides_by_hour(self, city_id: str, time_zone: str, now: datetime) -> list[HourFigures]:
        """The 24 hours up to `now`'s, each with the rides that started in it (0 too)."""
        ...

    def days(self, city_id: str, time_zone: str, days: int, now: datetime) -> list[DayFigures]:
        """The `days` calendar days up to `now`'s (local), oldest first, each complete."""
        ...

    def unlocks(self, city_id: str, since: datetime, until: datetime) -> UnlockFigures:
        """Unlocks asked for in [since, until) that succeeded or failed, and how long the
        successful ones took (late unlocks, adopted after a timeout, left out)."""
        ...

    def hotspots(
        self, city_id: str, time_zone: str, days: int, now: datetime, policy: ServicePolicy
    ) -> list[HotspotFigures]:
        """Each parking hotspot, vehicles available there now (riders' rule, `policy`),
        and its mean morning rides over the last `days` days; fewest available first."""
        ...

    def devices_needing_attention(
        self, city_id: str, now: datetime, policy: ServicePolicy
    ) -> list[Attention]:
        """The city's vehicles in service whose lock is offline or silent longer than the
        policy allows (`lock_offline`), or whose battery is below its threshold
        (`low_battery`), at the lock's last known position."""
        ...

    def stuck_payments(self, expired_before: datetime, asked_before: datetime) -> list[Attention]:
        """Payment orders still pending that expired before `expired_before`
        (`stuck_payment`), and refunds still processing asked before `asked_before`
        (`stuck_refund`)."""
        ...

    def ride_rows(
        self, city_id: str, since: datetime, until: datetime
    ) -> Iterator[tuple[Cell, ...]]:
        """The city's rentals asked for in [since, until), oldest first, in the columns of
        `rental.services.exports.RIDE_COLUMNS`, read as they are sent."""
        ...

    def posting_rows(self, since: datetime, until: datetime) -> Iterator[tuple[Cell, ...]]:
        """Every posting of transactions booked in [since, until), in the columns of
        `rental.services.exports.BOOK_COLUMNS`, read as they are sent."""
        ...
